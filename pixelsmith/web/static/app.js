// pixelsmith's page: builds its form from /api/tasks, sends a job, polls it, compares.
"use strict";

const $ = (id) => document.getElementById(id);
const POLL_MS = 300;
const MAX_UNDO = 30;

const state = {
  tasks: [],
  limits: {},
  file: null,
  photoURL: null,
  photoShown: false,
  job: null,
  timer: null,
  undo: [],
  painting: false,
  last: null,
  dragging: false,
};

async function api(path, options) {
  const response = await fetch(path, options);
  let body = null;
  try {
    body = await response.json();
  } catch (e) {
    body = null;
  }
  if (!response.ok) {
    const detail = body && body.detail ? body.detail : `the server answered ${response.status}`;
    const error = new Error(typeof detail === "string" ? detail : JSON.stringify(detail));
    error.status = response.status;
    throw error;
  }
  return body;
}

function megabytes(n) {
  return `${(n / 2 ** 20).toFixed(n < 2 ** 20 ? 2 : 1)} MB`;
}

function showError(message) {
  const box = $("error");
  box.textContent = message;
  box.hidden = !message;
}

function setStatus(text, jobState) {
  $("status").textContent = text;
  $("status").dataset.state = jobState || "";
}

function currentTask() {
  return state.tasks.find((t) => t.name === $("task").value);
}

// --- the form, from the task list -------------------------------------------------------------
function buildOptions(task) {
  const box = $("options");
  box.replaceChildren();
  for (const opt of task.options) {
    const id = `opt-${opt.name}`;
    const label = opt.name.replace(/_/g, " ");
    let wrap;
    let input;
    if (opt.kind === "bool") {
      wrap = document.createElement("label");
      wrap.className = "check";
      input = document.createElement("input");
      input.type = "checkbox";
      input.checked = Boolean(opt.default);
      wrap.append(input, label);
    } else {
      wrap = document.createElement("label");
      wrap.className = "field";
      wrap.append(label);
      if (opt.choices) {
        input = document.createElement("select");
        for (const choice of opt.choices) {
          const o = document.createElement("option");
          o.value = String(choice);
          o.textContent = String(choice);
          o.selected = choice === opt.default;
          input.append(o);
        }
      } else {
        input = document.createElement("input");
        if (opt.kind === "int" || opt.kind === "float") {
          input.type = "number";
          input.step = opt.kind === "int" ? "1" : "any";
          if (opt.min !== null) input.min = String(opt.min);
          if (opt.max !== null) input.max = String(opt.max);
          if (opt.default === null) input.placeholder = "the model's own";
          input.value = opt.default === null ? "" : String(opt.default);
        } else {
          input.type = "text";
          input.value = opt.default === null ? "" : String(opt.default);
        }
      }
      wrap.append(input);
    }
    input.id = id;
    input.dataset.option = opt.name;
    input.addEventListener("change", filterModels);
    if (opt.help) wrap.title = opt.help;
    box.append(wrap);
    if (opt.help) {
      const note = document.createElement("p");
      note.className = "note";
      note.textContent = firstSentence(opt.help);
      box.append(note);
    }
  }
}

function firstSentence(text) {
  const end = text.search(/[.;](\s|$)/);
  const first = end < 0 ? text : text.slice(0, end + 1);
  return first.length > 140 ? `${first.slice(0, 137)}…` : first;
}

function optionValues() {
  const task = currentTask();
  const values = {};
  for (const opt of task.options) {
    const input = $(`opt-${opt.name}`);
    if (opt.kind === "bool") values[opt.name] = input.checked;
    else if (opt.kind === "int" || opt.kind === "float") {
      // a field left empty: the option's default (none: the model's own value); a number the
      // browser cannot read is sent as typed, for the server to refuse with a clear error
      if (input.validity && input.validity.badInput) values[opt.name] = "not a number";
      else if (input.value !== "") values[opt.name] = Number(input.value);
      else if (opt.default !== null) values[opt.name] = opt.default;
    } else values[opt.name] = input.value;
  }
  return values;
}

function filterModels() {
  const task = currentTask();
  const values = optionValues();
  const select = $("model");
  const kept = select.value;
  select.replaceChildren();
  const first = document.createElement("option");
  first.value = "";
  first.textContent = `default (${task.default_model})`;
  select.append(first);
  for (const model of task.models) {
    const fits = Object.entries(model.requires).every(
      ([k, v]) => values[k] === undefined || values[k] === v,
    );
    if (!fits) continue;
    const o = document.createElement("option");
    o.value = model.name;
    o.textContent = model.name;
    select.append(o);
  }
  select.value = [...select.options].some((o) => o.value === kept) ? kept : "";
}

function onTaskChange() {
  const task = currentTask();
  buildOptions(task);
  filterModels();
  $("mask-tools").hidden = !task.mask;
  $("mask-canvas").hidden = !task.mask;
  $("task-note").textContent = task.mask ? "Paint the hole on the photo, then run." : "";
  showError("");
}

// --- the photo ----------------------------------------------------------------------------------
function setFile(file) {
  if (!file) return;
  state.file = file;
  state.photoShown = false;
  if (state.photoURL) URL.revokeObjectURL(state.photoURL);
  state.photoURL = URL.createObjectURL(file);
  showError("");
  setStatus("", "");
  $("file-info").textContent = `${file.name}, ${megabytes(file.size)}`;
  $("empty").hidden = true;
  $("result").hidden = true;
  $("editor").hidden = false;
  $("photo").src = state.photoURL;
  const limit = state.limits.max_upload_bytes;
  if (limit && file.size > limit) {
    showError(`${file.name} is over the upload limit of ${megabytes(limit)}`);
    $("run").disabled = true;
    return;
  }
  $("run").disabled = false;
}

function onPhotoLoad() {
  const photo = $("photo");
  const canvas = $("mask-canvas");
  state.photoShown = true;
  canvas.width = photo.naturalWidth;
  canvas.height = photo.naturalHeight;
  maskContext().clearRect(0, 0, canvas.width, canvas.height);
  state.undo = [];
  $("file-info").textContent =
    `${state.file.name}, ${photo.naturalWidth} x ${photo.naturalHeight}, ${megabytes(state.file.size)}`;
}

function onPhotoError() {
  state.photoShown = false;
  $("editor").hidden = true;
  $("empty").hidden = false;
  $("empty").textContent = "This browser cannot show the file; the server will say if it can read it.";
}

// --- painting the hole --------------------------------------------------------------------------
function maskContext() {
  return $("mask-canvas").getContext("2d", { willReadFrequently: true });
}

function canvasPoint(event) {
  const canvas = $("mask-canvas");
  const rect = canvas.getBoundingClientRect();
  return {
    x: ((event.clientX - rect.left) * canvas.width) / rect.width,
    y: ((event.clientY - rect.top) * canvas.height) / rect.height,
    k: canvas.width / rect.width,
  };
}

function brushContext(k) {
  const ctx = maskContext();
  ctx.globalCompositeOperation = $("eraser").checked ? "destination-out" : "source-over";
  ctx.strokeStyle = ctx.fillStyle = "#ff1f4f";
  ctx.lineWidth = Number($("brush").value) * k;
  ctx.lineCap = ctx.lineJoin = "round";
  return ctx;
}

function pushUndo() {
  const canvas = $("mask-canvas");
  state.undo.push(maskContext().getImageData(0, 0, canvas.width, canvas.height));
  if (state.undo.length > MAX_UNDO) state.undo.shift();
}

function paintStart(event) {
  if (!currentTask().mask) return;
  event.preventDefault();
  $("mask-canvas").setPointerCapture(event.pointerId);
  pushUndo();
  state.painting = true;
  const p = canvasPoint(event);
  const ctx = brushContext(p.k);
  ctx.beginPath();
  ctx.arc(p.x, p.y, ctx.lineWidth / 2, 0, 2 * Math.PI);
  ctx.fill();
  state.last = p;
}

function paintMove(event) {
  if (!state.painting) return;
  const p = canvasPoint(event);
  const ctx = brushContext(p.k);
  ctx.beginPath();
  ctx.moveTo(state.last.x, state.last.y);
  ctx.lineTo(p.x, p.y);
  ctx.stroke();
  state.last = p;
}

function paintEnd() {
  state.painting = false;
}

function undo() {
  const snapshot = state.undo.pop();
  if (snapshot) maskContext().putImageData(snapshot, 0, 0);
}

function clearMask() {
  const canvas = $("mask-canvas");
  pushUndo();
  maskContext().clearRect(0, 0, canvas.width, canvas.height);
}

// The painted hole as a black-and-white PNG of the photo's size (white = hole), or null.
function paintedMask() {
  const canvas = $("mask-canvas");
  if (!canvas.width || !canvas.height) return Promise.resolve(null);
  const painted = maskContext().getImageData(0, 0, canvas.width, canvas.height);
  const out = document.createElement("canvas");
  out.width = canvas.width;
  out.height = canvas.height;
  const ctx = out.getContext("2d");
  const mask = ctx.createImageData(canvas.width, canvas.height);
  let any = false;
  for (let i = 0; i < painted.data.length; i += 4) {
    const v = painted.data[i + 3] > 127 ? 255 : 0;
    any = any || v > 0;
    mask.data[i] = mask.data[i + 1] = mask.data[i + 2] = v;
    mask.data[i + 3] = 255;
  }
  if (!any) return Promise.resolve(null);
  ctx.putImageData(mask, 0, 0);
  return new Promise((resolve) => out.toBlob(resolve, "image/png"));
}

// --- jobs ---------------------------------------------------------------------------------------
async function run() {
  showError("");
  const task = currentTask();
  if (!state.file) return showError("Choose a photo first.");
  const form = new FormData();
  form.append("image", state.file, state.file.name);
  form.append("task", task.name);
  form.append("model", $("model").value);
  form.append("options", JSON.stringify(optionValues()));
  if (task.mask) {
    const maskFile = $("mask-file").files[0];
    const mask = maskFile || (await paintedMask());
    if (!mask) return showError("Paint the hole to fill on the photo, or choose a mask file.");
    form.append("mask", mask, maskFile ? maskFile.name : "mask.png");
  }
  $("run").disabled = true;
  setStatus("Uploading…", "uploading");
  try {
    state.job = await api("/api/jobs", { method: "POST", body: form });
  } catch (e) {
    $("run").disabled = false;
    setStatus("", "refused");
    return showError(e.message);
  }
  $("cancel").hidden = false;
  $("progress").hidden = false;
  $("progress").value = 0;
  poll();
}

async function poll() {
  clearTimeout(state.timer);
  let job;
  try {
    job = await api(`/api/jobs/${state.job.id}`);
  } catch (e) {
    return finish(e.message, "gone");
  }
  state.job = job;
  if (job.state === "queued") {
    setStatus(job.position ? `Waiting: ${job.position} job(s) ahead` : "Waiting for a worker…", "queued");
  } else if (job.state === "running") {
    if (job.total > 0) {
      $("progress").value = job.done / job.total;
      setStatus(`Running: ${job.done} of ${job.total} tile batches`, "running");
    } else {
      setStatus("Loading the model and the photo…", "running");
    }
  } else if (job.state === "done") {
    $("progress").value = 1;
    await showResult(job);
    return finish("", "done", `Done: ${job.task} with ${job.model}.`);
  } else if (job.state === "failed") {
    return finish(job.message, "failed");
  } else if (job.state === "cancelled") {
    return finish("", "cancelled", "Cancelled.");
  }
  if (job.cancelling) setStatus("Cancelling…", job.state);
  state.timer = setTimeout(poll, POLL_MS);
}

function finish(error, jobState, text) {
  $("cancel").hidden = true;
  $("progress").hidden = true;
  $("run").disabled = !state.file;
  setStatus(text || "", jobState);
  if (error) showError(error);
}

async function cancel() {
  if (!state.job) return;
  try {
    await api(`/api/jobs/${state.job.id}/cancel`, { method: "POST" });
  } catch (e) {
    showError(e.message);
  }
}

// --- the result: before/after and zoom ----------------------------------------------------------
function loaded(img, src) {
  return new Promise((resolve, reject) => {
    img.onload = () => resolve(img);
    img.onerror = () => reject(new Error("the result could not be shown"));
    img.src = src;
  });
}

async function showResult(job) {
  const after = $("after");
  await loaded(after, job.result);
  // a file this browser cannot show (a TIFF, a camera raw): the server's view of it, if any
  const before = state.photoShown ? state.photoURL : job.input || job.result;
  await loaded($("before"), before);
  $("download").href = job.download;
  $("download").download = job.filename;
  const [w, h] = job.size;
  $("result-info").textContent =
    `${job.name}: ${w} x ${h} in, ${after.naturalWidth} x ${after.naturalHeight} out` +
    (state.photoShown
      ? ""
      : job.input
        ? " (before: the input as the server shows it)"
        : " (this browser cannot show the original)");
  $("editor").hidden = true;
  $("empty").hidden = true;
  $("result").hidden = false;
  setSlider(Number($("slider").value));
  applyZoom();
}

function setSlider(percent) {
  const v = Math.min(100, Math.max(0, percent));
  $("slider").value = String(v);
  $("after-clip").style.clipPath = `inset(0 0 0 ${v}%)`;
  $("divider").style.left = `${v}%`;
}

function slideTo(event) {
  const rect = $("compare").getBoundingClientRect();
  setSlider(((event.clientX - rect.left) / rect.width) * 100);
}

function applyZoom() {
  const z = $("zoom").value;
  const stage = $("compare");
  const width = $("after").naturalWidth;
  stage.style.width = z === "fit" ? "100%" : `${Math.round(width * Number(z))}px`;
  stage.classList.toggle("pixels", z !== "fit" && Number(z) >= 2);
}

// --- wiring -------------------------------------------------------------------------------------
function wire() {
  $("task").addEventListener("change", onTaskChange);
  $("file").addEventListener("change", (e) => setFile(e.target.files[0]));
  const drop = $("drop");
  for (const target of [drop, $("viewer")]) {
    target.addEventListener("dragover", (e) => {
      e.preventDefault();
      drop.classList.add("over");
    });
    target.addEventListener("dragleave", () => drop.classList.remove("over"));
    target.addEventListener("drop", (e) => {
      e.preventDefault();
      drop.classList.remove("over");
      if (e.dataTransfer.files.length) setFile(e.dataTransfer.files[0]);
    });
  }
  $("photo").addEventListener("load", onPhotoLoad);
  $("photo").addEventListener("error", onPhotoError);
  const canvas = $("mask-canvas");
  canvas.addEventListener("pointerdown", paintStart);
  canvas.addEventListener("pointermove", paintMove);
  canvas.addEventListener("pointerup", paintEnd);
  canvas.addEventListener("pointercancel", paintEnd);
  $("brush").addEventListener("input", () => ($("brush-size").textContent = $("brush").value));
  $("undo").addEventListener("click", undo);
  $("clear").addEventListener("click", clearMask);
  document.addEventListener("keydown", (e) => {
    if ((e.ctrlKey || e.metaKey) && e.key === "z" && currentTask() && currentTask().mask) undo();
  });
  $("run").addEventListener("click", run);
  $("cancel").addEventListener("click", cancel);
  $("slider").addEventListener("input", () => setSlider(Number($("slider").value)));
  const compare = $("compare");
  compare.addEventListener("pointerdown", (e) => {
    e.preventDefault();
    state.dragging = true;
    compare.setPointerCapture(e.pointerId);
    slideTo(e);
  });
  compare.addEventListener("pointermove", (e) => state.dragging && slideTo(e));
  compare.addEventListener("pointerup", () => (state.dragging = false));
  $("zoom").addEventListener("change", applyZoom);
  $("edit").addEventListener("click", () => {
    $("result").hidden = true;
    $("editor").hidden = !state.photoShown;
    $("empty").hidden = state.photoShown;
  });
}

async function init() {
  wire();
  try {
    const body = await api("/api/tasks");
    state.tasks = body.tasks;
    state.limits = body.limits;
  } catch (e) {
    return showError(`Cannot load the task list: ${e.message}`);
  }
  $("file").accept = state.limits.accept.join(",");
  $("drop-text").textContent =
    `Drop a photo here, or choose one (up to ${megabytes(state.limits.max_upload_bytes)}, ` +
    `${(state.limits.max_pixels / 1e6).toFixed(0)} megapixels)`;
  const select = $("task");
  for (const task of state.tasks) {
    const o = document.createElement("option");
    o.value = task.name;
    o.textContent = task.title;
    select.append(o);
  }
  onTaskChange();
  document.body.dataset.ready = "1";
}

init();
