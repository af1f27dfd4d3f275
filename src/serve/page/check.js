// ---- check my numbers: the student's numbers for this association, diagnosed by the engine ----

// the numbers a student can give: y, delta, dE/dw, dE/db and the updated weights (not x)
const CHECKABLE = /^(y_|delta_|dE\/dw_|dE\/db_|w_|b_)/;
const answers = new Map();

function renderCheck(step) {
  const section = $("check");
  if (!state.summary || !state.summary.check) { section.style.display = "none"; return; }
  section.style.display = "block";
  const tbody = $("check-table").querySelector("tbody");
  tbody.innerHTML = "";
  const names = step.quantities.map((q) => q.name).filter((n) => CHECKABLE.test(n) && n !== "E");
  if (!names.length) {
    const tr = document.createElement("tr");
    tr.innerHTML = "<td class=muted></td>";
    tr.firstChild.textContent = "This step has no number to check: step on to the backward pass (deltas and dE/dw) or the update.";
    tbody.appendChild(tr);
  }
  for (const name of names.slice(0, 40)) {
    const tr = document.createElement("tr");
    const label = document.createElement("td"), cell = document.createElement("td"), input = document.createElement("input");
    label.textContent = name;
    input.type = "text";
    input.dataset.name = name;
    input.placeholder = "your number";
    input.value = answers.get(name) || "";
    input.addEventListener("input", () => { if (input.value.trim()) answers.set(name, input.value.trim()); else answers.delete(name); });
    cell.appendChild(input);
    tr.appendChild(label); tr.appendChild(cell);
    tbody.appendChild(tr);
  }
}

function showVerdict(reply) {
  const box = $("check-verdict");
  box.className = reply.verdict === "correct" ? "verdict-right" : "verdict-wrong";
  const lines = [];
  if (reply.verdict === "correct") {
    lines.push("Right: " + (reply.checked === 1 ? "your number matches" : "all " + reply.checked + " numbers match") + " the engine's, to the digits you typed.");
  } else if (reply.verdict === "mistake") {
    lines.push((reply.mistakes.length > 1 ? "Two classic mistakes at once give your numbers:" : "A classic mistake gives your numbers:"));
    for (const m of reply.mistakes) {
      lines.push("  " + m.name + " (" + m.id + ")");
      lines.push("    you computed: " + m.wrong);
      lines.push("    the right one: " + m.right);
    }
  } else {
    lines.push("No mistake in the catalogue gives these numbers.");
  }
  if (reply.first_wrong) lines.push("The first wrong number is " + reply.first_wrong.name + ": the right value is " + fmt(reply.first_wrong.right) + ", from " + reply.first_wrong.formula + ".");
  if (reply.indistinguishable.length) lines.push("This example cannot tell apart: " + reply.indistinguishable.map((ms) => ms.join(" + ")).join("; ") + ".");
  if (reply.why) lines.push(reply.why);
  box.textContent = lines.join("\n");
}

$("check-button").addEventListener("click", () => guarded(async () => {
  if (!answers.size) throw new Error("Type at least one of your numbers in the Check my numbers box first.");
  const body = { association: state.walk.association, learning_rate: state.walk.learning_rate, answers: Object.fromEntries(answers) };
  showVerdict((await api("POST", "/api/check", body)).json());
}));
