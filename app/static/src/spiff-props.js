// Properties of the SpiffWorkflow extensions our engine reads: the form, business status and
// task flags (medreg:bulk, medreg:withdrawable, medreg:locked) of a user task, the registered
// operation of a service task, scripts and conditions.
import { h } from "@bpmn-io/properties-panel/preact";
import {
  CheckboxEntry, Group, SelectEntry, TextFieldEntry, TextAreaEntry,
  isCheckboxEntryEdited, isSelectEntryEdited, isTextFieldEntryEdited, isTextAreaEntryEdited,
} from "@bpmn-io/properties-panel";
import { useService } from "bpmn-js-properties-panel";
import { getBusinessObject, is } from "bpmn-js/lib/util/ModelUtil";

function extension(bo, type) {
  const ext = bo.get("extensionElements");
  return ext ? (ext.get("values") || []).find((v) => is(v, type)) : undefined;
}

// Returns the commands that make sure `bo` has extensionElements and an element of `type`.
function ensureExtension(bo, type, bpmnFactory, commands, element) {
  let ext = bo.get("extensionElements");
  if (!ext) {
    ext = bpmnFactory.create("bpmn:ExtensionElements", { values: [] });
    ext.$parent = bo;
    commands.push({ cmd: "element.updateModdleProperties",
      context: { element, moddleElement: bo, properties: { extensionElements: ext } } });
  }
  let found = (ext.get("values") || []).find((v) => is(v, type));
  if (!found) {
    found = bpmnFactory.create(type, {});
    found.$parent = ext;
    commands.push({ cmd: "element.updateModdleProperties",
      context: { element, moddleElement: ext, properties: { values: [...(ext.get("values") || []), found] } } });
  }
  return found;
}

function propertyValue(bo, name) {
  const props = extension(bo, "spiffworkflow:Properties");
  const p = props && (props.get("properties") || []).find((x) => x.name === name);
  return p ? p.value : "";
}

function setProperty(element, name, value, { bpmnFactory, commandStack }) {
  const bo = getBusinessObject(element);
  const commands = [];
  const props = ensureExtension(bo, "spiffworkflow:Properties", bpmnFactory, commands, element);
  const list = props.get("properties") || [];
  const existing = list.find((x) => x.name === name);
  if (existing) {
    commands.push({ cmd: "element.updateModdleProperties",
      context: { element, moddleElement: existing, properties: { value } } });
  } else {
    const p = bpmnFactory.create("spiffworkflow:Property", { name, value });
    p.$parent = props;
    commands.push({ cmd: "element.updateModdleProperties",
      context: { element, moddleElement: props, properties: { properties: [...list, p] } } });
  }
  commandStack.execute("properties-panel.multi-command-executor", commands);
}

// Removes a property (a flag switched off or a field list emptied leaves nothing behind).
function removeProperty(element, name, { commandStack }) {
  const props = extension(getBusinessObject(element), "spiffworkflow:Properties");
  const list = props ? props.get("properties") || [] : [];
  if (!list.some((x) => x.name === name)) return;
  commandStack.execute("element.updateModdleProperties", { element, moddleElement: props,
    properties: { properties: list.filter((x) => x.name !== name) } });
}

function services() {
  return { bpmnFactory: useService("bpmnFactory"), commandStack: useService("commandStack"),
    translate: useService("translate"), debounce: useService("debounceInput") };
}

function FormEntry({ element, id, forms }) {
  const s = services();
  return h(SelectEntry, {
    element, id, label: "表单",
    getValue: () => propertyValue(getBusinessObject(element), "form"),
    setValue: (v) => setProperty(element, "form", v, s),
    getOptions: () => [{ value: "", label: "（请选择）" }, ...forms.map((f) => ({ value: f, label: f }))],
  });
}

function StatusEntry({ element, id }) {
  const s = services();
  return h(TextFieldEntry, {
    element, id, label: "业务状态", debounce: s.debounce,
    description: "医师在“业务查询”中看到的状态，如“待机构确认”",
    getValue: () => propertyValue(getBusinessObject(element), "status"),
    setValue: (v) => setProperty(element, "status", v || "", s),
  });
}

// Task flags (app/workflow/flags.py): what a user task allows.
const FLAGS = [
  { name: "medreg:bulk", label: "批量确认", description: "待办任务中可勾选多项一并确认" },
  { name: "medreg:withdrawable", label: "医师可撤回", description: "此任务等待办理时，医师可撤回申请" },
];

function FlagEntry({ element, id, flag }) {
  const s = services();
  return h(CheckboxEntry, {
    element, id, label: flag.label, description: flag.description,
    getValue: () => propertyValue(getBusinessObject(element), flag.name) === "true",
    setValue: (v) => (v ? setProperty(element, flag.name, "true", s) : removeProperty(element, flag.name, s)),
  });
}

function LockedEntry({ element, id }) {
  const s = services();
  return h(TextFieldEntry, {
    element, id, label: "补正时不可修改的字段", debounce: s.debounce,
    description: "表单字段名，以逗号分隔，如 registration_id,institution_id",
    getValue: () => propertyValue(getBusinessObject(element), "medreg:locked"),
    setValue: (v) => {
      const fields = (v || "").split(",").map((f) => f.trim()).filter(Boolean).join(",");
      return fields ? setProperty(element, "medreg:locked", fields, s) : removeProperty(element, "medreg:locked", s);
    },
  });
}

function operatorOf(element) {
  return extension(getBusinessObject(element), "spiffworkflow:ServiceTaskOperator");
}

function setOperator(element, properties, s) {
  const commands = [];
  const op = ensureExtension(getBusinessObject(element), "spiffworkflow:ServiceTaskOperator",
    s.bpmnFactory, commands, element);
  if (!op.get("parameterList") && !properties.parameterList) {
    // SpiffWorkflow's schema requires <spiffworkflow:parameters/>, even when empty
    const params = s.bpmnFactory.create("spiffworkflow:Parameters", {});
    params.$parent = op;
    properties = { ...properties, parameterList: params };
  }
  commands.push({ cmd: "element.updateModdleProperties",
    context: { element, moddleElement: op, properties } });
  s.commandStack.execute("properties-panel.multi-command-executor", commands);
}

function OperationEntry({ element, id, operations }) {
  const s = services();
  return h(SelectEntry, {
    element, id, label: "服务操作",
    getValue: () => (operatorOf(element) || {}).id || "",
    setValue: (v) => setOperator(element, { id: v, resultVariable: (operatorOf(element) || {}).resultVariable || v + "_result" }, s),
    getOptions: () => [{ value: "", label: "（请选择）" }, ...operations.map((o) => ({ value: o, label: o }))],
  });
}

function ParametersEntry({ element, id }) {
  const s = services();
  const getValue = () => {
    const op = operatorOf(element);
    const list = op && op.get("parameterList") ? op.get("parameterList").get("parameters") || [] : [];
    return list.map((p) => `${p.id} = ${p.value}`).join("\n");
  };
  const setValue = (text) => {
    const params = s.bpmnFactory.create("spiffworkflow:Parameters", {});
    const items = (text || "").split("\n").map((l) => l.trim()).filter(Boolean).map((line) => {
      const at = line.indexOf("=");
      const p = s.bpmnFactory.create("spiffworkflow:Parameter", {
        id: (at < 0 ? line : line.slice(0, at)).trim(), type: "str",
        value: at < 0 ? "" : line.slice(at + 1).trim() });
      p.$parent = params;
      return p;
    });
    params.set("parameters", items);
    setOperator(element, { parameterList: params }, s);
  };
  return h(TextAreaEntry, { element, id, label: "参数（每行：名称 = 表达式）", getValue, setValue,
    debounce: s.debounce, rows: 3 });
}

function ScriptEntry({ element, id }) {
  const s = services();
  const bo = getBusinessObject(element);
  return h(TextAreaEntry, { element, id, label: "脚本", debounce: s.debounce, rows: 4, monospace: true,
    getValue: () => bo.get("script") || "",
    setValue: (v) => s.commandStack.execute("element.updateModdleProperties",
      { element, moddleElement: bo, properties: { scriptFormat: "python", script: v || "" } }) });
}

function ConditionEntry({ element, id }) {
  const s = services();
  const bo = getBusinessObject(element);
  return h(TextFieldEntry, { element, id, label: "条件表达式", debounce: s.debounce,
    getValue: () => (bo.get("conditionExpression") || {}).body || "",
    setValue: (v) => {
      let expr;
      if (v) {
        expr = s.bpmnFactory.create("bpmn:FormalExpression", { body: v });
        expr.$parent = bo;
      }
      s.commandStack.execute("element.updateModdleProperties",
        { element, moddleElement: bo, properties: { conditionExpression: expr } });
    } });
}

export default function SpiffPropertiesProvider(propertiesPanel, config) {
  const forms = (config && config.forms) || [];
  const operations = (config && config.operations) || [];
  this.getGroups = (element) => (groups) => {
    const entries = [];
    if (is(element, "bpmn:UserTask")) {
      entries.push({ id: "spiffForm", component: FormEntry, isEdited: isSelectEntryEdited, forms });
      entries.push({ id: "spiffStatus", component: StatusEntry, isEdited: isTextFieldEntryEdited });
      for (const flag of FLAGS) {
        entries.push({ id: "spiffFlag-" + flag.name.replace(":", "-"), component: FlagEntry,
          isEdited: isCheckboxEntryEdited, flag });
      }
      entries.push({ id: "spiffLocked", component: LockedEntry, isEdited: isTextFieldEntryEdited });
    } else if (is(element, "bpmn:ServiceTask")) {
      entries.push({ id: "spiffOperation", component: OperationEntry, isEdited: isSelectEntryEdited, operations });
      entries.push({ id: "spiffParameters", component: ParametersEntry, isEdited: isTextAreaEntryEdited });
    } else if (is(element, "bpmn:ScriptTask")) {
      entries.push({ id: "spiffScript", component: ScriptEntry, isEdited: isTextAreaEntryEdited });
    } else if (is(element, "bpmn:SequenceFlow")) {
      const source = element.source && getBusinessObject(element.source);
      if (source && is(source, "bpmn:ExclusiveGateway")) {
        entries.push({ id: "spiffCondition", component: ConditionEntry, isEdited: isTextFieldEntryEdited });
      }
    }
    if (entries.length) {
      groups.splice(1, 0, { id: "spiff", label: "执行设置", component: Group, entries });
    }
    return groups;
  };
  propertiesPanel.registerProvider(400, this);
}
SpiffPropertiesProvider.$inject = ["propertiesPanel", "config.spiff"];
