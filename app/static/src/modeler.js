// The administrator's process editor: bpmn-js modeler with its properties panel, the
// SpiffWorkflow extensions (form, status, operation, scripts), forms as JSON with a live
// preview, autosaved drafts (server + a local copy), validation on the diagram, scenarios,
// difference to the published version. Bundled by esbuild (make assets).
import BpmnModeler from "bpmn-js/lib/Modeler";
import { BpmnPropertiesPanelModule, BpmnPropertiesProviderModule } from "bpmn-js-properties-panel";
import spiffModdle from "./spiffworkflow.json";
import SpiffPropertiesProvider from "./spiff-props.js";
import ZH from "./zh.js";

function translate(template, replacements) {
  const text = ZH[template] || template;
  return text.replace(/{([^}]+)}/g, (_, key) => {
    const value = (replacements || {})[key];
    return ZH[value] || value || "{" + key + "}";
  });
}

const root = document.getElementById("editor");
if (root) start(root);

function start(root) {
  const url = (name) => root.getAttribute("data-" + name + "-url");
  const csrf = root.getAttribute("data-csrf");
  const status = document.getElementById("save-status");
  const storeKey = "medreg-draft:" + root.getAttribute("data-process");
  const publishButton = document.getElementById("btn-publish");
  let revision = 0;
  let forms = {};
  let dirty = false;
  let formTextBroken = false;
  let timer = null;
  let saving = null;
  let overlays = [];

  function setStatus(text, kind) {
    status.textContent = text;
    status.className = "save-status " + (kind || "");
    if (publishButton) publishButton.disabled = dirty || formTextBroken;
  }

  async function post(u, body) {
    const r = await fetch(u, { method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify(body || {}) });
    let data = {};
    try { data = await r.json(); } catch (e) { data = { message: "服务器返回了无法识别的结果（" + r.status + "）" }; }
    return { ok: r.ok, status: r.status, data };
  }

  const modeler = new BpmnModeler({
    container: "#canvas",
    propertiesPanel: { parent: "#props" },
    additionalModules: [
      BpmnPropertiesPanelModule, BpmnPropertiesProviderModule,
      { __init__: ["spiffPropertiesProvider"], spiffPropertiesProvider: ["type", SpiffPropertiesProvider] },
      { translate: ["value", translate] },
    ],
    moddleExtensions: { spiffworkflow: spiffModdle },
    spiff: { forms: JSON.parse(root.getAttribute("data-form-ids") || "[]"),
      operations: JSON.parse(root.getAttribute("data-operations") || "[]") },
  });
  window.medregModeler = modeler;  // for the browser tests and the console

  async function currentXml() {
    const { xml } = await modeler.saveXML({ format: true });
    return xml;
  }

  async function keepLocal() {
    try {
      localStorage.setItem(storeKey, JSON.stringify({ revision, xml: await currentXml(), forms }));
    } catch (e) { /* storage full or disabled: the server copy still saves */ }
  }

  function changed() {
    dirty = true;
    setStatus("有未保存的修改…", "pending");
    keepLocal();
    clearTimeout(timer);
    timer = setTimeout(save, 800);
  }

  async function save() {
    clearTimeout(timer);
    if (saving) return saving;
    if (!dirty) return true;
    saving = (async () => {
      setStatus("正在保存草稿…", "pending");
      const res = await post(url("save"), { xml: await currentXml(), forms, revision });
      if (res.ok) {
        revision = res.data.revision;
        dirty = false;
        localStorage.removeItem(storeKey);
        setStatus("草稿已保存（" + res.data.saved_at + "）", "ok");
        refreshImpact();
        return true;
      }
      setStatus(res.data.message || "草稿保存失败，修改已保留在本机，请稍后重试", "error");
      return false;
    })();
    try { return await saving; } finally { saving = null; }
  }

  // the 发布 section's impact table follows the saved draft (which tasks it removes or changes)
  async function refreshImpact() {
    const box = document.getElementById("impact");
    if (!box) return;
    try {
      const r = await fetch(url("impact"), { credentials: "same-origin", headers: { "Accept": "text/html" } });
      if (!r.ok) return;
      const holder = document.createElement("div");
      holder.innerHTML = await r.text();
      const fresh = holder.querySelector("#impact");
      if (!fresh) return;
      fresh.querySelectorAll("[data-confirm]").forEach((el) => el.addEventListener("click", (ev) => {
        if (!window.confirm(el.getAttribute("data-confirm"))) ev.preventDefault();
      }));
      box.replaceWith(fresh);
    } catch (e) { /* the table stays as it was; a reload shows it */ }
  }

  window.addEventListener("beforeunload", (ev) => {
    if (dirty || formTextBroken) { ev.preventDefault(); ev.returnValue = ""; }
  });

  // -- validation markers ---------------------------------------------------------------
  function clearProblems() {
    const canvas = modeler.get("canvas");
    overlays.forEach((o) => { modeler.get("overlays").remove(o.overlay); canvas.removeMarker(o.id, "has-problem"); });
    overlays = [];
  }

  function showProblems(problems) {
    clearProblems();
    const list = document.getElementById("problems");
    list.innerHTML = "";
    const registry = modeler.get("elementRegistry");
    if (!problems.length) {
      list.innerHTML = '<li class="ok">校验通过：流程图、泳道、表单、服务操作和脚本均无问题。</li>';
      return;
    }
    problems.forEach((p) => {
      const li = document.createElement("li");
      li.className = "problem";
      li.textContent = (p.element_id ? p.element_id + "：" : "") + p.message;
      list.appendChild(li);
      const el = p.element_id && registry.get(p.element_id);
      if (el) {
        li.addEventListener("click", () => { modeler.get("selection").select(el); modeler.get("canvas").scrollToElement(el); });
        modeler.get("canvas").addMarker(p.element_id, "has-problem");
        const badge = document.createElement("div");
        badge.className = "problem-badge";
        badge.title = p.message;
        badge.textContent = "!";
        overlays.push({ id: p.element_id, overlay: modeler.get("overlays").add(p.element_id, { position: { top: -10, right: 10 }, html: badge }) });
      }
    });
  }

  async function validate() {
    if (!(await save())) return;
    const res = await post(url("validate"));
    showProblems(res.data.problems || [{ element_id: "", message: res.data.message || "校验失败" }]);
  }

  let marked = [];
  function markDiagram(ids, cls) {
    const canvas = modeler.get("canvas");
    const registry = modeler.get("elementRegistry");
    marked.forEach(([id, c]) => { if (registry.get(id)) canvas.removeMarker(id, c); });
    marked = [];
    ids.forEach((id) => { if (registry.get(id)) { canvas.addMarker(id, cls); marked.push([id, cls]); } });
  }

  function showPath(c) {  // the flow nodes a case went through, on the diagram
    markDiagram(c.path || [], "case-path");
  }

  function showRun(d) {
    const box = document.getElementById("scenario-result");
    box.innerHTML = "";
    const head = document.createElement("p");
    if (!d.finished) {
      box.className = "pending";
      head.textContent = (d.case_key ? "用例 " + d.case_key + "：" : "") +
        (d.state === "queued" ? "测试用例排队中…" : "正在运行测试用例…") +
        "（" + (d.done || 0) + "/" + (d.total || 0) + "）";
      box.appendChild(head);
      return;
    }
    box.className = d.state === "passed" ? "ok" : "error";
    head.textContent = d.message || "";
    box.appendChild(head);
    const r = d.results || {};
    const list = document.createElement("ul");
    list.className = "problems";
    (r.results || []).forEach((c) => {
      const li = document.createElement("li");
      li.className = c.ok ? "ok" : "problem";
      li.title = "点击在流程图上显示该用例经过的环节";
      li.textContent = (c.ok ? "✓ " : "✗ ") + c.key + "（" + c.name + "）" + (c.ok ? "" : "：" + c.detail);
      li.addEventListener("click", () => showPath(c));
      list.appendChild(li);
    });
    box.appendChild(list);
    if (d.case_key && (r.results || []).length === 1) { showPath(r.results[0]); return; }  // 运行此用例
    const stale = document.getElementById("coverage-exceptions");
    if (stale && d.current && (r.failed || !(r.uncovered || []).length)) stale.remove();  // nothing to except now
    markDiagram(r.uncovered || [], "not-reached");
    if ((r.uncovered || []).length) {
      const p = document.createElement("p");
      p.className = "warn";
      p.textContent = "以下元素没有任何测试用例到达（请补充测试用例，或在“发布”中勾选为例外并填写理由）：" + r.uncovered.join("、");
      box.appendChild(p);
      if (!r.failed && d.current) offerExceptions(r.uncovered);
    }
  }

  function offerExceptions(ids) {  // the 发布 form's exception rows, as the page renders them
    const form = document.getElementById("publish-form");
    if (!form || document.getElementById("coverage-exceptions")) return;
    const set = document.createElement("fieldset");
    set.id = "coverage-exceptions";
    set.innerHTML = "<legend>没有测试用例到达的元素</legend><p class='hint'>测试用例全部通过，但以下元素没有用例到达。" +
      "请补充测试用例；或勾选为例外并填写理由（理由记入审计日志和该版本）。</p>";
    ids.forEach((id) => {
      const row = document.createElement("div");
      row.className = "field";
      const label = document.createElement("label");
      label.className = "lbl";
      const box = document.createElement("input");
      box.type = "checkbox"; box.name = "exception"; box.value = id; box.id = "exc-" + id;
      const code = document.createElement("code");
      code.textContent = id;
      label.append(box, " ", code);
      const control = document.createElement("div");
      control.className = "control";
      const reason = document.createElement("input");
      reason.name = "reason-" + id; reason.id = "reason-" + id; reason.maxLength = 200;
      reason.placeholder = "理由：如 该分支仅在系统故障时进入";
      reason.setAttribute("aria-label", "理由");
      control.appendChild(reason);
      row.append(label, control);
      set.appendChild(row);
    });
    form.insertBefore(set, document.getElementById("btn-publish"));
  }

  async function poll(onOpen) {
    const r = await fetch(url("cases-status"), { credentials: "same-origin", headers: { "Accept": "application/json" } });
    const d = await r.json();
    if (d.state === "none" || (onOpen && d.finished && !d.current)) return;
    showRun(d);
    if (!d.finished) setTimeout(poll, 1000);
  }

  async function scenarios() {
    if (!(await save())) return;
    const res = await post(url("cases-run"));
    if (res.status >= 400) {
      const box = document.getElementById("scenario-result");
      box.className = "error";
      box.textContent = res.data.message || "无法运行测试用例";
      return;
    }
    showRun(res.data);
    if (!res.data.finished) setTimeout(poll, 1000);
  }

  async function diff() {
    if (!(await save())) return;
    const r = await fetch(url("diff"), { credentials: "same-origin", headers: { "Accept": "application/json" } });
    const d = await r.json();
    const pre = document.getElementById("diff");
    pre.innerHTML = "";
    if (!d.lines.length) { pre.textContent = "草稿与已发布版本相同。"; return; }
    d.lines.forEach((line) => {
      const span = document.createElement("span");
      span.className = line[0] === "+" ? "add" : line[0] === "-" ? "del" : line[0] === "@" ? "hunk" : "";
      span.textContent = line + "\n";
      pre.appendChild(span);
    });
  }

  // -- test cases ----------------------------------------------------------------------------
  const casePick = document.getElementById("case-pick");
  const caseKey = document.getElementById("case-key");
  const caseText = document.getElementById("case-json");
  let caseData = {};

  async function loadCases(select) {
    const r = await fetch(url("cases"), { credentials: "same-origin", headers: { "Accept": "application/json" } });
    const d = await r.json();
    caseData = d.cases || {};
    casePick.innerHTML = "";
    Object.keys(caseData).sort().forEach((k) => {
      const o = document.createElement("option");
      o.value = k; o.textContent = k + "（" + (caseData[k].name || "") + "）";
      casePick.appendChild(o);
    });
    if (select && caseData[select]) casePick.value = select;
    showCase(casePick.value);
    const helper = document.getElementById("case-helper");
    helper.innerHTML = "";
    (d.tasks || []).forEach((t) => {
      const li = document.createElement("li");
      li.textContent = t.id + "（" + t.title + "）" + (t.lane ? " 泳道 " + t.lane : "") + " · 表单 " + t.form + "：" +
        t.fields.map((f) => f + (t.required.includes(f) ? "*" : "")).join("、");
      helper.appendChild(li);
    });
  }

  function showCase(key) {
    caseKey.value = key || "";
    caseText.value = key ? JSON.stringify(caseData[key], null, 2) : "";
  }

  async function saveCase() {
    const keyError = document.getElementById("case-key-error");
    const jsonError = document.getElementById("case-json-error");
    keyError.textContent = ""; jsonError.textContent = "";
    let content;
    try { content = JSON.parse(caseText.value); } catch (e) { jsonError.textContent = "不是有效的 JSON：" + e.message; return; }
    const res = await post(url("case-save"), { key: caseKey.value.trim(), content });
    if (!res.ok) {
      const errors = res.data.errors || {};
      keyError.textContent = errors.key || "";
      jsonError.textContent = errors.content || (errors.key ? "" : res.data.message || "保存失败");
      return false;
    }
    await loadCases(caseKey.value.trim());
    setStatus("用例已保存，请重新运行测试用例", "ok");
    return true;
  }

  async function runOneCase() {  // 运行此用例: the case as shown, saved first when edited
    const key = caseKey.value.trim();
    let shown;
    try { shown = JSON.parse(caseText.value); } catch (e) { shown = null; }
    if (!caseData[key] || JSON.stringify(shown) !== JSON.stringify(caseData[key])) {
      if (!(await saveCase())) return;
    }
    if (!(await save())) return;
    const res = await post(url("case-run").replace("__KEY__", encodeURIComponent(key)));
    const box = document.getElementById("scenario-result");
    if (res.status >= 400) {
      box.className = "error";
      box.textContent = res.data.message || "无法运行该用例";
      return;
    }
    showRun(res.data);
    box.scrollIntoView({ block: "nearest" });
    if (!res.data.finished) setTimeout(poll, 1000);
  }

  casePick.addEventListener("change", () => showCase(casePick.value));
  document.getElementById("btn-case-new").addEventListener("click", () => {
    caseKey.value = "";
    caseText.value = JSON.stringify({ name: "", start: { data: {} }, steps: [{ task: "", lane: "", data: {} }],
      expect: { end: "" } }, null, 2);
    caseKey.focus();
  });
  document.getElementById("btn-case-save").addEventListener("click", saveCase);
  document.getElementById("btn-case-run").addEventListener("click", runOneCase);
  loadCases();

  // -- forms -------------------------------------------------------------------------------
  const picker = document.getElementById("form-pick");
  const editor = document.getElementById("form-json");
  const formError = document.getElementById("form-json-error");
  const preview = document.getElementById("form-preview");
  let previewTimer = null;

  function fillPicker() {
    const chosen = picker.value;
    picker.innerHTML = "";
    Object.keys(forms).sort().forEach((id) => {
      const o = document.createElement("option");
      o.value = id; o.textContent = id;
      picker.appendChild(o);
    });
    if (chosen && forms[chosen]) picker.value = chosen;
  }

  async function renderPreview() {
    const res = await post(url("preview"), { schema: forms[picker.value] });
    if (res.ok) { preview.innerHTML = res.data.html; return; }
    // a form outside the dialect (docs/forms.md): every problem, each with its place
    preview.textContent = res.data.message || "无法预览";
    const problems = ((res.data.errors || {}).schema || "").split("；").filter(Boolean);
    if (problems.length > 1) {
      const list = document.createElement("ul");
      list.className = "errors";
      problems.forEach((text) => {
        const li = document.createElement("li");
        li.textContent = text;
        list.appendChild(li);
      });
      preview.appendChild(list);
    }
  }

  function showForm() {
    editor.value = JSON.stringify(forms[picker.value] || {}, null, 2);
    formError.textContent = "";
    formTextBroken = false;
    renderPreview();
  }

  editor.addEventListener("input", () => {
    try {
      const parsed = JSON.parse(editor.value);
      if (typeof parsed !== "object" || Array.isArray(parsed) || parsed === null) throw new Error("表单必须是一个 JSON 对象");
      forms[picker.value] = parsed;
      formError.textContent = "";
      formTextBroken = false;
      changed();
      clearTimeout(previewTimer);
      previewTimer = setTimeout(renderPreview, 400);
    } catch (e) {
      formTextBroken = true;
      formError.textContent = "JSON 格式错误，修正前不会保存：" + e.message;
      setStatus("表单 JSON 有错误，尚未保存", "error");
    }
  });
  picker.addEventListener("change", showForm);

  // -- the canvas: fit the diagram beside the palette -----------------------------------------
  // zoom('fit-viewport') fits the whole container, so the palette (over the canvas' left edge)
  // hides elements there: fit into the area right of the palette instead, never above 100 %.
  const container = document.getElementById("canvas");
  const wrap = document.getElementById("modeler-wrap");

  function fitDiagram() {
    const canvas = modeler.get("canvas");
    canvas.resized();
    const outer = { width: container.clientWidth, height: container.clientHeight };
    if (!outer.width || !outer.height) return;  // hidden (another tab): fitted when shown
    canvas.zoom("fit-viewport");
    const inner = canvas.viewbox().inner;
    if (!inner.width || !inner.height) return;
    const palette = container.querySelector(".djs-palette");
    const box = container.getBoundingClientRect();
    const pad = 16;
    const left = (palette ? palette.getBoundingClientRect().right - box.left : 0) + pad;
    const scale = Math.min(1, (outer.width - left - pad) / inner.width, (outer.height - 2 * pad) / inner.height);
    canvas.viewbox({ x: inner.x - left / scale, y: inner.y - pad / scale,
      width: outer.width / scale, height: outer.height / scale });
  }

  document.getElementById("btn-fit").addEventListener("click", fitDiagram);
  const propsButton = document.getElementById("btn-props");
  propsButton.addEventListener("click", () => {
    const collapsed = wrap.classList.toggle("props-collapsed");
    propsButton.textContent = collapsed ? "显示属性面板" : "隐藏属性面板";
    propsButton.setAttribute("aria-expanded", String(!collapsed));
    fitDiagram();
  });
  let lastSize = "";
  if (window.ResizeObserver) {
    new ResizeObserver(() => {
      const size = container.clientWidth + "x" + container.clientHeight;
      if (size === lastSize || !root.hasAttribute("data-ready")) return;
      lastSize = size;
      modeler.get("canvas").resized();
    }).observe(container);
  }

  // -- tabs and buttons ----------------------------------------------------------------------
  document.querySelectorAll("[data-tab]").forEach((btn) => btn.addEventListener("click", () => {
    document.querySelectorAll("[data-tab]").forEach((b) => b.setAttribute("aria-selected", String(b === btn)));
    document.querySelectorAll(".tab-pane").forEach((p) => { p.hidden = p.id !== btn.getAttribute("data-tab"); });
    if (btn.getAttribute("data-tab") === "pane-diagram") fitDiagram();
  }));
  document.getElementById("btn-save").addEventListener("click", () => { dirty = true; save(); });
  document.getElementById("btn-validate").addEventListener("click", validate);
  document.getElementById("btn-scenarios").addEventListener("click", scenarios);
  poll(true);  // a run started before the page was opened shows its progress
  document.getElementById("btn-diff").addEventListener("click", diff);
  const publishForm = document.getElementById("publish-form");
  if (publishForm) {
    publishForm.addEventListener("submit", (ev) => {
      if (dirty || formTextBroken) { ev.preventDefault(); setStatus("请先保存草稿再发布", "error"); return; }
      if (!window.confirm("发布后，新的申请将使用新版本；已开始的申请继续按原版本办理。确定发布吗？")) ev.preventDefault();
    });
  }

  // -- load ------------------------------------------------------------------------------------
  (async () => {
    const r = await fetch(url("draft"), { credentials: "same-origin", headers: { "Accept": "application/json" } });
    const d = await r.json();
    revision = d.revision;
    forms = d.forms;
    let xml = d.xml;
    let restored = false;
    try {
      const local = JSON.parse(localStorage.getItem(storeKey) || "null");
      if (local && local.revision === d.revision && (local.xml !== d.xml || JSON.stringify(local.forms) !== JSON.stringify(d.forms))) {
        xml = local.xml; forms = local.forms; restored = true;
      }
    } catch (e) { /* ignore a broken local copy */ }
    await modeler.importXML(xml);
    fitDiagram();
    modeler.on("commandStack.changed", changed);
    fillPicker();
    showForm();
    if (restored) { changed(); setStatus("已恢复本机上次未保存的修改，正在保存…", "pending"); }
    else setStatus("草稿已载入（基于已发布版本 " + d.base_version + "）", "ok");
    root.setAttribute("data-ready", "true");
  })().catch((e) => { setStatus("编辑器无法载入：" + e.message, "error"); });
}
