// coach web page: live coaching with the webcam and a therapist's view of a patient's report.
// Plain JavaScript, no framework. Protocol of the WebSocket: see coach/api/live.py.
"use strict";

const $ = (id) => document.getElementById(id);
const NAMES = ["nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner", "right_eye",
  "right_eye_outer", "left_ear", "right_ear", "mouth_left", "mouth_right", "left_shoulder", "right_shoulder",
  "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_pinky", "right_pinky", "left_index",
  "right_index", "left_thumb", "right_thumb", "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle",
  "right_ankle", "left_heel", "right_heel", "left_foot_index", "right_foot_index"];
const EDGES = [["left_shoulder", "right_shoulder"], ["left_hip", "right_hip"], ["left_shoulder", "left_hip"],
  ["right_shoulder", "right_hip"], ["left_shoulder", "left_elbow"], ["left_elbow", "left_wrist"],
  ["right_shoulder", "right_elbow"], ["right_elbow", "right_wrist"], ["left_hip", "left_knee"],
  ["left_knee", "left_ankle"], ["right_hip", "right_knee"], ["right_knee", "right_ankle"],
  ["left_ankle", "left_heel"], ["left_heel", "left_foot_index"], ["right_ankle", "right_heel"],
  ["right_heel", "right_foot_index"]].map(([a, b]) => [NAMES.indexOf(a), NAMES.indexOf(b)]);

const SEND_WIDTH = 640;      // frames are downscaled to this width before JPEG encoding
const MAX_FPS = 15;          // at most this many frames a second, and one in flight at a time
const JPEG_QUALITY = 0.7;

let token = sessionStorage.getItem("coach-token") || "";
let me = null;

async function api(path, opts = {}) {
  const headers = Object.assign({ Authorization: "Bearer " + token }, opts.headers || {});
  const r = await fetch(path, Object.assign({}, opts, { headers }));
  if (!r.ok) {
    let detail = r.statusText;
    try { const j = await r.json(); detail = typeof j.detail === "string" ? j.detail : JSON.stringify(j.detail); } catch (e) { /* not JSON */ }
    const err = new Error(detail); err.status = r.status; throw err;
  }
  return r;
}

function option(sel, value, text) {
  const o = document.createElement("option"); o.value = value; o.textContent = text; sel.appendChild(o);
}

function todayUTC() { return new Date().toISOString().slice(0, 10); }

function showSignedIn(on) {
  $("signin-card").hidden = on; $("app").hidden = !on; $("nav").hidden = !on; $("account").hidden = !on;
}

async function signIn() {
  try {
    me = await (await api("/api/me")).json();
  } catch (e) {
    me = null;
    showSignedIn(false);
    setText("signin-msg", token ? "Sign-in failed: " + e.message : "");
    return;
  }
  setText("signin-msg", "");
  $("who").textContent = `Signed in as ${me.name} (${me.role})`;
  showSignedIn(true);
  const ex = await (await api("/api/exercises")).json();
  exercises = ex;
  const patients = await (await api("/api/patients")).json();
  for (const id of ["today-patient", "rep-patient"]) {
    const s = $(id); s.textContent = "";
    for (const p of patients) option(s, p.name, p.name);
  }
  $("today-patient-field").hidden = me.role !== "therapist";
  $("report-h").textContent = me.role === "therapist" ? "Patient report" : "My progress";
  await showToday();
}

function signOut() {
  if (!live.stopped) stopLive();
  token = ""; me = null; plan = [];
  sessionStorage.removeItem("coach-token");
  $("token").value = "";
  for (const id of ["report-out", "report-full", "sessions-out", "session-out", "today-list"]) $(id).textContent = "";
  for (const id of ["summary", "status", "cue", "report-msg", "today-msg"]) setText(id, "");
  $("downloads").hidden = true; $("note-form").hidden = true;
  showSignedIn(false);
  $("token").focus();
}

$("signin").addEventListener("submit", (ev) => {
  ev.preventDefault();
  token = $("token").value.trim();
  sessionStorage.setItem("coach-token", token);
  signIn();
});
$("signout").addEventListener("click", signOut);

// ------------------------------------------------------------------------------------ today's plan

let exercises = [];
let plan = [];   // today's summary lines of the exercises prescribed today

function planPatient() { return me && me.role === "therapist" ? $("today-patient").value : (me && me.patient); }

async function showToday() {
  const name = planPatient();
  const list = $("today-list"); list.textContent = "";
  plan = [];
  if (!name) { setText("today-msg", "No patient to show."); fillExercises(); return; }
  const day = todayUTC();
  try {
    const sm = await (await api(`/api/patients/${encodeURIComponent(name)}/summary?from=${day}&to=${day}`)).json();
    plan = sm.exercises.filter((x) => x.prescription !== null);
    setText("today-msg", plan.length ? `${day} (UTC): ${plan.length} exercise${plan.length === 1 ? "" : "s"} prescribed.`
      : `Nothing is prescribed for ${day}; you may still coach any exercise below.`);
    for (const x of plan) {
      const li = document.createElement("li");
      li.dataset.exercise = x.exercise_id;
      const h = document.createElement("strong"); h.textContent = x.name; li.appendChild(h);
      const p = document.createElement("div"); p.textContent = x.prescription; li.appendChild(p);
      if (x.notes) { const n = document.createElement("div"); n.className = "note"; n.textContent = "Note from your therapist: " + x.notes; li.appendChild(n); }
      const d = document.createElement("div"); d.className = "done";
      const reps = x.reps_done + x.reps_outside_plan;
      d.textContent = `Done today: ${reps} rep${reps === 1 ? "" : "s"}` +
        (x.reps_per_session ? ` of ${x.reps_per_session} prescribed` : "") +
        `, ${x.sessions_done} session${x.sessions_done === 1 ? "" : "s"}`;
      li.appendChild(d);
      const b = document.createElement("button"); b.type = "button"; b.textContent = "Coach this exercise";
      b.addEventListener("click", () => { $("exercise").value = x.exercise_id; showLiveNote(); $("live").scrollIntoView(); $("start").focus(); });
      li.appendChild(b);
      list.appendChild(li);
    }
  } catch (e) { setText("today-msg", "Could not load today's plan: " + e.message); }
  fillExercises();
}

function fillExercises() {
  // today's exercises first (the first one chosen), then the rest of the library
  const sel = $("exercise"); sel.textContent = "";
  const planned = new Set(plan.map((x) => x.exercise_id));
  if (plan.length) {
    const g = document.createElement("optgroup"); g.label = "Today's plan";
    for (const x of plan) option(g, x.exercise_id, `${x.name} (${x.exercise_id})`);
    sel.appendChild(g);
  }
  const g = document.createElement("optgroup"); g.label = plan.length ? "Other exercises" : "Exercises";
  for (const d of exercises) if (!planned.has(d.id)) option(g, d.id, `${d.name} (${d.id})`);
  sel.appendChild(g);
  // the first of today's exercises not done yet (else the first of them)
  if (plan.length) sel.value = (plan.find((x) => x.sessions_done === 0) || plan[0]).exercise_id;
  showLiveNote();
}

function showLiveNote() {
  const x = plan.find((p) => p.exercise_id === $("exercise").value);
  $("live-note").hidden = !(x && x.notes);
  $("live-note").textContent = x && x.notes ? "Note from your therapist: " + x.notes : "";
}

$("exercise").addEventListener("change", showLiveNote);
$("today-patient").addEventListener("change", showToday);

// ------------------------------------------------------------------------------------------ live

const live = { ws: null, stream: null, inflight: false, stopped: true, t0: 0, lastSend: 0, sent: 0,
  answered: 0, keypoints: null, limit: null, firstT: null, timer: null };
const grab = document.createElement("canvas");

function setText(id, v) { const el = $(id); if (el.textContent !== v) el.textContent = v; }  // no needless live-region announcements

function drawOverlay() {
  const video = $("video"), c = $("overlay");
  const w = video.videoWidth || 640, h = video.videoHeight || 360;
  if (c.width !== w) { c.width = w; c.height = h; }
  const g = c.getContext("2d");
  g.clearRect(0, 0, w, h);
  const kp = live.keypoints;
  if (!kp) return;
  const p = kp.points.map(([x, y, v]) => [x * w, y * h, v]);
  g.lineWidth = Math.max(2, w / 200);
  g.strokeStyle = "#00e5ff";
  for (const [a, b] of EDGES) {
    if (p[a][2] < 0.5 || p[b][2] < 0.5) continue;
    g.beginPath(); g.moveTo(p[a][0], p[a][1]); g.lineTo(p[b][0], p[b][1]); g.stroke();
  }
  g.fillStyle = "#ffea00";
  for (const [x, y, v] of p.slice(11)) {
    if (v < 0.5) continue;
    g.beginPath(); g.arc(x, y, Math.max(3, w / 160), 0, 2 * Math.PI); g.fill();
  }
}

function sendFrame() {
  live.timer = null;
  if (live.stopped || live.inflight || !live.ws || live.ws.readyState !== WebSocket.OPEN) return;
  const video = $("video");
  if (!video.videoWidth) { live.timer = setTimeout(sendFrame, 50); return; }
  const wait = 1000 / MAX_FPS - (performance.now() - live.lastSend);
  if (wait > 0) { live.timer = setTimeout(sendFrame, wait); return; }
  const scale = Math.min(1, SEND_WIDTH / video.videoWidth);
  grab.width = Math.round(video.videoWidth * scale);
  grab.height = Math.round(video.videoHeight * scale);
  grab.getContext("2d").drawImage(video, 0, 0, grab.width, grab.height);
  const t = (performance.now() - live.t0) / 1000;
  live.lastSend = performance.now();
  live.inflight = true;
  grab.toBlob(async (blob) => {
    if (!blob || live.stopped) { live.inflight = false; return; }
    const jpeg = await blob.arrayBuffer();
    const msg = new Uint8Array(8 + jpeg.byteLength);
    new DataView(msg.buffer).setFloat64(0, t, true);   // 8 bytes little-endian float64: capture time, s
    msg.set(new Uint8Array(jpeg), 8);
    if (live.ws && live.ws.readyState === WebSocket.OPEN) { live.ws.send(msg); live.sent++; }
    else live.inflight = false;
  }, "image/jpeg", JPEG_QUALITY);
}

function onFrame(m) {
  live.inflight = false;
  live.answered++;
  if (live.firstT === null) live.firstT = m.t;
  live.keypoints = m.keypoints;
  drawOverlay();
  setText("count", m.reps_left !== null && m.reps_left !== undefined
    ? `${m.reps} (L ${m.reps_left} / R ${m.reps_right})` : String(m.reps));
  setText("set", `${m.set} of ${m.sets}` + (m.target_reps ? ` · target ${m.target_reps} reps` : ""));
  setText("phase", m.phase || "–");
  if (m.measure) setText("measure-name", m.measure);
  setText("measure", m.value === null || m.value === undefined ? "–" : Math.round(m.value).toString());
  $("hold-row").hidden = m.held_s === null || m.held_s === undefined;
  if (m.held_s !== null && m.held_s !== undefined) setText("held", m.held_s.toFixed(1) + " s");
  if ((m.cue || "") !== $("cue").textContent) setText("cue", m.cue || "");
  setText("status", m.paused ? "Paused" : m.resting_s !== null && m.resting_s !== undefined
    ? `Rest: ${Math.ceil(m.resting_s)} s` : m.not_measurable ? "Not measurable: " + m.not_measurable : "");
  setText("stats", `${live.answered} frames coached, ${m.dropped} dropped`);
  if (live.limit !== null && m.t - live.firstT >= live.limit) { stopLive(); return; }
  sendFrame();
}

function onMessage(ev) {
  const m = JSON.parse(ev.data);
  if (m.type === "frame") onFrame(m);
  else if (m.type === "ready") onReady(m); else if (m.type === "summary") {
    const r = m.result;
    setText("summary", `Session ${m.session_id} saved: ${r.reps} reps` +
      (r.hold_s ? `, held ${r.hold_s.toFixed(1)} s` : "") +
      ` (${{ quit: "stopped", completed: "target reached" }[r.ended_reason] || r.ended_reason}).`);
    setText("count", String(r.reps));
    live.sessionId = m.session_id;
    $("note-form").hidden = false;
    setText("note-msg", "");
    setText("status", ""); setText("cue", "");
    finishLive();
    showToday();
  } else if (m.type === "error") {
    setText("status", `Error ${m.status}: ${m.detail}`);
    live.inflight = false;
    if (live.ws && live.ws.readyState === WebSocket.OPEN && !live.stopped) sendFrame();
  }
}

async function startLive(ev) {
  ev.preventDefault();
  if (!me) { setText("status", "Sign in first."); $("token").focus(); return; }
  setText("summary", ""); setText("cue", ""); setText("count", "0"); setText("status", "Connecting…");
  $("note-form").hidden = true;
  const lim = parseFloat($("limit").value);
  Object.assign(live, { stopped: false, inflight: false, sent: 0, answered: 0, keypoints: null,
    limit: isFinite(lim) && lim > 0 ? lim : null, firstT: null, lastSend: 0 });
  const start = { type: "start", token, exercise_id: $("exercise").value };
  if (me.role === "therapist") start.patient = $("today-patient").value;
  const reps = parseInt($("reps").value, 10);
  if (reps > 0) start.reps = reps;
  const ready = parseFloat($("ready").value);
  if (isFinite(ready) && ready >= 0) start.ready_s = ready;
  // The server gets ready first (pose model, session); the camera opens only then, so no movement is missed.
  const ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/api/live");
  ws.binaryType = "arraybuffer";
  ws.onopen = () => ws.send(JSON.stringify(start));
  ws.onmessage = onMessage;
  ws.onclose = () => { if (!live.stopped) { setText("status", "The connection closed."); finishLive(); } };
  live.ws = ws;
  $("start").disabled = true; $("stop").disabled = false; $("stop").focus();
}

async function onReady(m) {
  try {
    live.stream = await navigator.mediaDevices.getUserMedia({ video: { width: { ideal: 1280 } }, audio: false });
  } catch (e) {
    setText("status", "The camera could not be opened: " + e.message);
    stopLive();
    return;
  }
  const video = $("video");
  video.srcObject = live.stream;
  await video.play();
  setText("status", `Recording session ${m.session_id} for ${m.patient}: ${m.exercise.name}.`);
  if (m.exercise.view && m.exercise.view !== "any")
    setText("cue", `Stand so the camera sees your ${m.exercise.view} and your whole body.`);
  live.t0 = performance.now();
  sendFrame();
}

function stopLive() {
  if (live.stopped) return;
  live.stopped = true;
  setText("status", "Stopping…");
  if (live.ws && live.ws.readyState === WebSocket.OPEN) live.ws.send(JSON.stringify({ type: "stop" }));
  else finishLive();
}

function finishLive() {
  live.stopped = true;
  live.keypoints = null;
  drawOverlay();
  if (live.timer) clearTimeout(live.timer);
  if (live.stream) for (const tr of live.stream.getTracks()) tr.stop();
  live.stream = null;
  $("start").disabled = false; $("stop").disabled = true;
}

$("live-form").addEventListener("submit", startLive);
$("note-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const body = {};
  const pain = parseInt($("pain").value, 10), effort = parseInt($("effort").value, 10);
  if (pain >= 0) body.pain_0_10 = pain;
  if (effort >= 0) body.effort_rpe_0_10 = effort;
  if ($("note-text").value.trim()) body.text = $("note-text").value.trim();
  try {
    await api(`/api/sessions/${live.sessionId}/notes`, { method: "POST", body: JSON.stringify(body),
      headers: { "Content-Type": "application/json" } });
    setText("note-msg", "Saved. Thank you.");
  } catch (e) { setText("note-msg", "Not saved: " + e.message); }
});
$("stop").addEventListener("click", stopLive);
document.addEventListener("keydown", (e) => {
  if (e.key === "Escape" && !live.stopped) stopLive();
});

// ---------------------------------------------------------------------------------------- report

function fmt(v, digits = 0) {
  if (v === null || v === undefined) return "–";
  return typeof v === "number" ? v.toFixed(digits) : String(v);
}

function table(headers, rows, numeric = []) {
  const t = document.createElement("table");
  const tr = t.createTHead().insertRow();
  for (const h of headers) { const th = document.createElement("th"); th.scope = "col"; th.textContent = h; tr.appendChild(th); }
  const body = t.createTBody();
  for (const r of rows) {
    const row = body.insertRow();
    r.forEach((v, i) => {
      const td = row.insertCell();
      if (v instanceof Node) td.appendChild(v); else td.textContent = v;
      if (numeric.includes(i)) td.className = "num";
    });
  }
  return t;
}

function periodQuery(forReport) {
  // The report takes days (from, to inclusive); lists and the summary take instants (since, until exclusive).
  const q = new URLSearchParams();
  const from = $("since").value, to = $("until").value;
  if (forReport) {
    if (from) q.set("from", from);
    if (to) q.set("to", to);
    return q;
  }
  if (from) q.set("since", from + "T00:00:00Z");
  if (to) {
    const d = new Date(to + "T00:00:00Z"); d.setUTCDate(d.getUTCDate() + 1);
    q.set("until", d.toISOString());
  }
  return q;
}

// The summary's cells, written exactly as coach/reports/render.py writes them (the numbers come rounded).
const FLAG = "✱";
const ofText = (d, p) => `${d} / ${p === null || p === undefined ? "—" : p}`;
const arrow = (t) => (t ? t.arrow : "");
const cells = {
  sessions: (x) => ofText(x.sessions_done, x.sessions_prescribed),
  reps: (x) => ofText(x.reps_done, x.reps_prescribed) + (x.reps_outside_plan ? ` (+${x.reps_outside_plan} unprescribed)` : ""),
  rom: (x) => {
    if (!x.rom_reached.length) return "—";
    let o = x.rom_reached.length === 1 ? `${x.rom_reached[0].reached}${x.unit}`
      : x.rom_reached.map((s) => `${s.side[0].toUpperCase()} ${s.reached}${x.unit}`).join(" ");
    if (x.rom_target !== null) o += ` / ${x.rom_target}${x.unit} ` + (x.rom_met ? "met" : "not met");
    return (o + " " + arrow(x.rom_trend)).trim();
  },
  asym: (x) => x.asymmetry_lsi_percent === null ? "—" : `${x.asymmetry_lsi_percent}%` + (x.asymmetry_flag ? ` ${FLAG}` : ""),
  pain: (x) => {
    if (x.pain_max === null) return "—";
    let o = `max ${x.pain_max} ${arrow(x.pain_trend)}`.trim() + ` (limit ${x.pain_limit})`;
    if (x.pain_over_limit) o += ` ${FLAG} ${x.pain_over_limit} over`;
    return o;
  },
  faults: (x) => x.faults.length ? x.faults.map((f) => `${f.words} ×${f.count} ${arrow(f.trend)}`.trim()).join("; ") : "none",
  nm: (x) => x.not_measurable_percent === null ? "—" : `${x.not_measurable_percent}%` + (x.not_measurable_flag ? ` ${FLAG}` : ""),
};

function adherenceLine(sm) {
  if (sm.sessions_prescribed === null) {
    return `Adherence — (${sm.sessions_done} session${sm.sessions_done === 1 ? "" : "s"}, none prescribed)`;
  }
  return `Adherence ${sm.adherence_percent}% (${sm.sessions_counted} of ${sm.sessions_prescribed} prescribed sessions)`;
}

function painLine(sm) {
  let o = sm.pain_mean === null ? "Pain not reported" : `Pain mean ${sm.pain_mean.toFixed(1)}, max ${sm.pain_max}`;
  if (sm.pain_mean !== null && sm.pain_over_limit)
    o += ` (${FLAG} ${sm.pain_over_limit} session${sm.pain_over_limit === 1 ? "" : "s"} over the limit)`;
  if (sm.effort_mean !== null) o += ` · effort mean ${sm.effort_mean.toFixed(1)}`;
  return o;
}

const SUMMARY_COLUMNS = ["exercise", "sessions done / prescribed", "reps done / prescribed",
  "range of motion reached / target", "left / right", "pain", "form faults", "not measurable"];

function summaryTable(sm) {
  const t = document.createElement("table"); t.className = "overview"; t.id = "summary-table";
  const tr = t.createTHead().insertRow();
  for (const h of SUMMARY_COLUMNS) { const th = document.createElement("th"); th.scope = "col"; th.textContent = h; tr.appendChild(th); }
  const body = t.createTBody();
  for (const x of sm.exercises) {
    const row = body.insertRow();
    const name = row.insertCell();
    const b = document.createElement("strong"); b.textContent = x.name; name.appendChild(b);
    if (x.notes) { const n = document.createElement("div"); n.className = "note"; n.textContent = "Note: " + x.notes; name.appendChild(n); }
    const values = [[cells.sessions(x), x.sessions_prescribed && x.sessions_counted < x.sessions_prescribed],
      [cells.reps(x), false], [cells.rom(x), x.rom_met === false], [cells.asym(x), x.asymmetry_flag],
      [cells.pain(x), x.pain_over_limit > 0], [cells.faults(x), false], [cells.nm(x), x.not_measurable_flag]];
    values.forEach(([text, bad], i) => {
      const td = row.insertCell(); td.textContent = text; td.dataset.label = SUMMARY_COLUMNS[i + 1];
      if (bad) td.className = "bad"; else if (i === 2 && x.rom_met) td.className = "good";
    });
  }
  return t;
}

async function showReport(ev) {
  ev.preventDefault();
  const name = $("rep-patient").value;
  const out = $("report-out"); out.textContent = ""; $("report-full").textContent = ""; setText("report-msg", "");
  if (!name) { setText("report-msg", "Choose a patient."); return; }
  try {
    const sm = await (await api(`/api/patients/${encodeURIComponent(name)}/summary?` + periodQuery(true))).json();
    const h = document.createElement("p"); h.className = "muted";
    h.textContent = `${sm.patient}: ${sm.period_from} to ${sm.period_to} (UTC days)`;
    out.appendChild(h);
    const k = document.createElement("p"); k.className = "kpi"; k.id = "kpi";
    const strong = document.createElement("strong"); strong.textContent = adherenceLine(sm);
    k.appendChild(strong); k.appendChild(document.createTextNode(" · " + painLine(sm)));
    out.appendChild(k);
    if (sm.alerts.length) {
      const a = document.createElement("div"); a.className = "alerts"; a.id = "alerts";
      for (const text of sm.alerts) { const p = document.createElement("p"); p.textContent = `${FLAG} ${text}`; a.appendChild(p); }
      out.appendChild(a);
    }
    if (sm.exercises.length) { const wrap = document.createElement("div"); wrap.className = "scroll"; wrap.appendChild(summaryTable(sm)); out.appendChild(wrap); }
    const rxs = await (await api(`/api/patients/${encodeURIComponent(name)}/prescriptions`)).json();
    if (rxs.length) {
      const h3 = document.createElement("h3"); h3.textContent = "Prescriptions"; out.appendChild(h3);
      const wrap = document.createElement("div"); wrap.className = "scroll";
      wrap.appendChild(table(["exercise", "sets", "reps", "ROM °", "per week", "from", "until", "note for the patient"],
        rxs.map((r) => [r.exercise_id, fmt(r.sets), fmt(r.reps), fmt(r.rom_deg), fmt(r.per_week), r.start_date,
          r.until_date || "–", r.notes || "–"]), [1, 2, 3, 4]));
      out.appendChild(wrap);
    }
    $("downloads").hidden = false;
    await showSessions(name);
  } catch (e) { setText("report-msg", "Could not load the report: " + e.message); }
}

async function showSessions(name) {
  const rows = await (await api(`/api/patients/${encodeURIComponent(name)}/sessions?` + periodQuery(false))).json();
  const out = $("sessions-out"); out.textContent = "";
  if (!rows.length) { out.textContent = "No sessions in this period."; return; }
  out.appendChild(table(["started (UTC)", "exercise", "reps", "faults", "mean ROM", "ended", ""], rows.map((s) => {
    const b = document.createElement("button"); b.type = "button"; b.textContent = "Reps";
    b.setAttribute("aria-label", `Reps of session ${s.id}`);
    b.addEventListener("click", () => showSession(s.id));
    return [s.started_at.slice(0, 16).replace("T", " "), s.exercise_id, s.n_reps, s.n_faults,
      fmt(s.mean_range_of_motion), s.end_reason || "open", b];
  }), [2, 3, 4]));
}

async function showSession(id) {
  const d = await (await api(`/api/sessions/${id}`)).json();
  const out = $("session-out"); out.textContent = "";
  const h = document.createElement("h4"); h.textContent = `Session ${d.id}: ${d.exercise_id}, ${d.totals.reps} reps`;
  out.appendChild(h);
  const rows = [];
  for (const st of d.sets) for (const r of st.reps)
    rows.push([st.index, r.index, r.side, fmt(r.duration_s, 2), fmt(r.min_value), fmt(r.max_value),
      fmt(r.range_of_motion), r.faults.map((f) => f.code).join(", ") || "–"]);
  out.appendChild(table(["set", "rep", "side", "duration s", "min", "max", "ROM", "faults"], rows, [0, 1, 3, 4, 5, 6]));
}

async function download(format) {
  const name = $("rep-patient").value;
  try {
    const r = await api(`/api/patients/${encodeURIComponent(name)}/report?format=${format}&` + periodQuery(true));
    const blob = await r.blob();
    if (format === "html") {
      const f = document.createElement("iframe");
      f.title = `Report of ${name}`;
      f.setAttribute("sandbox", "");
      f.srcdoc = await blob.text();
      $("report-full").textContent = "";
      $("report-full").appendChild(f);
      return;
    }
    const a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = `${name}-report.${format === "fhir" ? "json" : format === "pdf" ? "pdf" : "csv"}`;
    a.click();
    URL.revokeObjectURL(a.href);
  } catch (e) { setText("report-msg", `${format.toUpperCase()} report: ${e.message}`); }
}

$("report-form").addEventListener("submit", showReport);
for (const b of document.querySelectorAll("#downloads button")) b.addEventListener("click", () => download(b.dataset.format));

if (token) { $("token").value = token; signIn(); }
