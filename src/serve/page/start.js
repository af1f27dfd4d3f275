// ---- the first page: a session, the worked example ----
guarded(async () => {
  state.token = (await api("POST", "/api/session", {})).json().session;
  applyPreset("worked");
  afterBuild((await api("GET", "/api/state")).json());
  await loadWalk(true);
  hint("This is the tutorial's worked example. Press next to follow one association forward, through the error, backward and into the update; or choose another data set above.");
  document.body.dataset.ready = "true";
});
