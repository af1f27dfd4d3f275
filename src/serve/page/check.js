// ---- check my numbers (filled in when the library's diagnosis is available) ----
