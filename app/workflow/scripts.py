"""The restricted script environment.

Diagram text that the engine evaluates (script tasks, pre/post scripts, gateway
conditions, timer expressions, service-task parameters) passes two gates:

1. an allow-list of Python syntax (:func:`check_source`): no imports, loops,
   comprehensions, functions, classes, dunder or private names, attribute access
   beyond a few harmless methods, no ``.format`` or ``%`` templates or format specs,
   no large powers or repetitions, no slice assignment, and (at upload) no name that is
   neither a known variable nor an allow-listed function;
2. RestrictedPython's compiler and guarded globals when it runs, with every ``*``, ``**``,
   ``%`` and ``+`` (and ``+=``) routed through :func:`_binop`, every list, tuple, dict and
   set literal, f-string and comparison operand through a weight check, and ``round``,
   ``sum``, ``min``, ``max`` and ``sorted`` replaced by guarded versions, so no value a
   script builds can weigh more than ``MAX_LENGTH`` items (counted through nesting: a list
   of 1,000 references to a 1,000-item list weighs 1,000,000) or ``MAX_INT_BITS`` bits, and
   nothing runs on values heavier than that (memory and CPU bombs built step by step from
   allowed pieces, like ``a = a ** 4`` repeated or ``"%0" + n + "d" % 1``, stop with
   "流程脚本运行超时/结果过大");
3. a deadline (:mod:`app.workflow.budget`) for every evaluation, checked by a trace hook
   on every Python line it runs and inside the calendar functions it may call.

Only plain functions are exposed, never modules.
"""

from __future__ import annotations

import ast
import builtins
import json
import operator
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Mapping
from datetime import date
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

from RestrictedPython.compile import compile_restricted_eval
from RestrictedPython.compile import compile_restricted_exec
from RestrictedPython.Eval import default_guarded_getitem
from RestrictedPython.Guards import guarded_iter_unpack_sequence
from RestrictedPython.Guards import guarded_unpack_sequence
from RestrictedPython.Guards import safer_getattr
from RestrictedPython.transformer import RestrictingNodeTransformer
from SpiffWorkflow.bpmn.script_engine import BasePythonScriptEngineEnvironment

from app.workflow import budget
from app.workflow.budget import LimitExceeded
from app.workflow.errors import Problem
from app.workflow.errors import WorkflowError

ServiceHandler = Callable[[str, dict[str, Any], dict[str, Any]], Any]

SAFE_BUILTIN_NAMES = frozenset(
    "len str int float bool min max sum any all abs round sorted list dict tuple".split()
)
SAFE_METHODS = frozenset(
    "get keys values items strip lower upper startswith endswith".split()
)
_ALLOWED_NODES: tuple[type[ast.AST], ...] = (
    ast.Module, ast.Expression, ast.Expr, ast.Assign, ast.AugAssign, ast.If, ast.Pass,
    ast.Name, ast.Load, ast.Store, ast.Constant, ast.Dict, ast.List, ast.Tuple, ast.Set,
    ast.Subscript, ast.Slice, ast.Compare, ast.BoolOp, ast.UnaryOp, ast.BinOp, ast.IfExp,
    ast.Call, ast.keyword, ast.Attribute, ast.JoinedStr, ast.FormattedValue,
    ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.In, ast.NotIn, ast.Is,
    ast.IsNot, ast.And, ast.Or, ast.Not, ast.USub, ast.UAdd,
    ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow,
)
_NODE_NAMES = {
    ast.Import: "import", ast.ImportFrom: "import", ast.For: "循环", ast.While: "循环",
    ast.ListComp: "推导式", ast.SetComp: "推导式", ast.DictComp: "推导式",
    ast.GeneratorExp: "生成器", ast.Lambda: "lambda", ast.FunctionDef: "函数定义",
    ast.ClassDef: "类定义", ast.Try: "try", ast.With: "with", ast.Global: "global",
    ast.Delete: "del", ast.Yield: "yield", ast.Await: "await",
}
MAX_POWER = 4
MAX_REPEAT = 1000
MAX_LENGTH = 100_000  # items of a string, list or tuple a script may build
MAX_INT_BITS = 64_000  # about 19,000 decimal digits
MAX_ROUND_DIGITS = 30  # round(x, -N) builds 10**N
MAX_SOURCE_CHARS = 20_000  # one text: compiling it happens inside the step too
_SIZED = (str, bytes, list, tuple)
_GUARDED_OPS = {ast.Mult: "*", ast.Pow: "**", ast.Add: "+", ast.Mod: "%"}


def _reject(msg: str, node: ast.AST | None = None) -> WorkflowError:
    line = getattr(node, "lineno", None)
    where = f"第 {line} 行：" if line else ""
    return WorkflowError(where + msg)


def _is_str_or_seq_const(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, (str, bytes)) or isinstance(
        node, (ast.List, ast.Tuple, ast.JoinedStr)
    )


def _small_int(node: ast.AST, limit: int) -> bool:
    return (
        isinstance(node, ast.Constant)
        and type(node.value) is int
        and 0 <= node.value <= limit
    )


def _check_node(node: ast.AST, known: frozenset[str] | None) -> None:
    if not isinstance(node, _ALLOWED_NODES):
        label = _NODE_NAMES.get(type(node), type(node).__name__)
        raise _reject(f"不允许使用 {label}", node)
    if isinstance(node, ast.Name):
        if node.id.startswith("_"):
            raise _reject(f"不允许以下划线开头的名称 {node.id}", node)
        if known is not None and isinstance(node.ctx, ast.Load) and node.id not in known:
            raise _reject(f"未知的名称 {node.id}：既不是流程变量也不是允许的函数", node)
    elif isinstance(node, ast.Attribute):
        raise _reject(f"不允许访问属性 .{node.attr}", node)
    elif isinstance(node, ast.Call):
        func = node.func
        if isinstance(func, ast.Attribute):
            if func.attr not in SAFE_METHODS:
                raise _reject(f"不允许调用方法 .{func.attr}()", node)
            _check_tree(func.value, known)
        elif not isinstance(func, ast.Name):
            raise _reject("只允许直接调用具名函数", node)
        for child in [*node.args, *node.keywords]:
            _check_tree(child, known)
        if isinstance(func, ast.Name):
            _check_node(func, known)
        return
    elif isinstance(node, ast.BinOp):
        if isinstance(node.op, ast.Pow) and not _small_int(node.right, MAX_POWER):
            raise _reject(f"乘方的指数只能是不大于 {MAX_POWER} 的整数常量", node)
        if isinstance(node.op, ast.Mult) and (
            _is_str_or_seq_const(node.left) or _is_str_or_seq_const(node.right)
        ):
            other = node.right if _is_str_or_seq_const(node.left) else node.left
            if not _small_int(other, MAX_REPEAT):
                raise _reject("不允许大量重复字符串或列表", node)
        if isinstance(node.op, ast.Mod) and _is_str_or_seq_const(node.left):
            raise _reject("不允许使用 % 格式化字符串", node)
    elif isinstance(node, ast.FormattedValue) and (node.format_spec is not None
                                                   or node.conversion != -1):
        raise _reject("不允许在 f-string 中使用格式说明或转换", node)
    elif isinstance(node, (ast.Assign, ast.AugAssign)):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        for target in targets:
            if not isinstance(target, (ast.Name, ast.Subscript, ast.Tuple)):
                raise _reject("只能给变量赋值", node)
            if isinstance(target, ast.Subscript) and isinstance(target.slice, ast.Slice):
                raise _reject("不允许给切片赋值", node)
    for child in ast.iter_child_nodes(node):
        _check_tree(child, known)


def _check_tree(node: ast.AST, known: frozenset[str] | None) -> None:
    _check_node(node, known)


def assigned_names(source: str) -> set[str]:
    """The variable names a script assigns (used to learn known variables)."""
    try:
        tree = ast.parse(source, mode="exec")
    except SyntaxError:
        return set()
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
    return names


def check_source(source: str, mode: str, known: Iterable[str] | None = None) -> None:
    """Refuse ``source`` unless it keeps to the allowed syntax.

    :param mode: ``"exec"`` for scripts, ``"eval"`` for expressions.
    :param known: when given, every name read must be one of these.
    :raise WorkflowError: with a Chinese message naming the line.
    """
    if len(source) > MAX_SOURCE_CHARS:
        raise WorkflowError(f"脚本过长（{len(source)} 个字符，最多 {MAX_SOURCE_CHARS} 个）")
    try:
        tree = ast.parse(source, mode=mode)
    except SyntaxError as exc:
        raise WorkflowError(f"第 {exc.lineno} 行：语法错误 {exc.msg}") from exc
    _check_tree(tree, frozenset(known) if known is not None else None)
    compiled = _restricted(source, mode)
    if compiled.errors:
        raise WorkflowError("；".join(compiled.errors))


def _call(name: str, args: list[ast.expr], like: ast.AST) -> ast.expr:
    call = ast.Call(func=ast.Name(name, ast.Load()), args=args, keywords=[])
    return ast.fix_missing_locations(ast.copy_location(call, like))


class _SizeGuardPolicy(RestrictingNodeTransformer):
    """RestrictedPython's policy, plus: ``a * b``, ``a ** b``, ``a % b`` and ``a + b`` become
    ``_binop_("*", a, b)`` so their results are size-checked before they are built; literals
    become ``_built_(literal)``, f-strings ``_fstr_(part, ...)`` and comparison operands
    ``_built_(x)`` so nothing heavier than ``MAX_LENGTH`` items is built or compared."""

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        node = self.node_contents_visit(node)
        symbol = _GUARDED_OPS.get(type(node.op))
        if symbol is None:
            return node
        return _call("_binop_", [ast.Constant(symbol), node.left, node.right], node)

    def _literal(self, node: ast.AST) -> ast.AST:
        node = self.node_contents_visit(node)
        if isinstance(getattr(node, "ctx", ast.Load()), ast.Load):
            return _call("_built_", [node], node)  # type: ignore[list-item]
        return node

    visit_List = visit_Tuple = visit_Set = visit_Dict = _literal  # noqa: N815

    def visit_Compare(self, node: ast.Compare) -> ast.AST:
        node = self.node_contents_visit(node)
        node.left = _call("_built_", [node.left], node.left)
        node.comparators = [_call("_built_", [c], c) for c in node.comparators]
        return node

    def visit_JoinedStr(self, node: ast.JoinedStr) -> ast.AST:
        node = self.node_contents_visit(node)
        parts = [v.value if isinstance(v, ast.FormattedValue) else v for v in node.values]
        return _call("_fstr_", parts, node)


def _too_big(message: str) -> WorkflowError:
    return LimitExceeded(f"脚本运算结果过大：{message}，已停止执行")


def weight(value: Any, cap: int = MAX_LENGTH) -> int:
    """Items in ``value`` counted through nesting (a string counts its length), stopping
    once past ``cap``; shared references count each time (that is what a copy, a
    comparison or a hash would walk)."""
    total, todo = 0, [value]
    while todo and total <= cap:
        item = todo.pop()
        if isinstance(item, (str, bytes)):
            total += max(len(item), 1)
        elif isinstance(item, (list, tuple, set, frozenset)):
            total += 1
            todo.extend(item)
        elif isinstance(item, dict):
            total += 1
            todo.extend(item.keys())
            todo.extend(item.values())
        else:
            total += 1
    return total


def _built(value: Any) -> Any:
    """``value`` if it weighs at most ``MAX_LENGTH`` items."""
    if isinstance(value, (list, tuple, set, frozenset, dict, str, bytes)) and weight(value) > MAX_LENGTH:
        raise _too_big(f"超过 {MAX_LENGTH} 项")
    return value


def _binop(symbol: str, a: Any, b: Any) -> Any:
    """``a <symbol> b`` after checking the size of what it would build."""
    if symbol == "*":
        for seq, n in ((a, b), (b, a)):
            if isinstance(seq, _SIZED) and isinstance(n, int) and n > 0 and (
                    len(seq) * n > MAX_LENGTH or weight(seq) * n > MAX_LENGTH):
                raise _too_big(f"超过 {MAX_LENGTH} 项")
        if isinstance(a, int) and isinstance(b, int) and a.bit_length() + b.bit_length() > MAX_INT_BITS:
            raise _too_big("整数过大")
        return a * b
    if symbol == "**":
        if isinstance(a, int) and isinstance(b, int) and b > 0 and a.bit_length() * b > MAX_INT_BITS:
            raise _too_big("整数过大")
        return a**b
    if symbol == "%":
        if isinstance(a, (str, bytes)):
            raise _too_big("不允许使用 % 格式化字符串")
        return a % b
    if isinstance(a, _SIZED) and isinstance(b, _SIZED) and (
            len(a) + len(b) > MAX_LENGTH or weight(a) + weight(b) > MAX_LENGTH):
        raise _too_big(f"超过 {MAX_LENGTH} 项")
    return a + b


def _fstr(*parts: Any) -> str:
    """An f-string: the text of each part, never longer than ``MAX_LENGTH`` in all."""
    out: list[str] = []
    length = 0
    for part in parts:
        text = _text(part)
        length += len(text)
        if length > MAX_LENGTH:
            raise _too_big(f"长度超过 {MAX_LENGTH}")
        out.append(text)
    return "".join(out)


def _round(number: Any, ndigits: Any = None) -> Any:
    """``round``; ``ndigits`` within ±``MAX_ROUND_DIGITS`` (``round(1, -N)`` builds 10**N)."""
    if ndigits is None:
        return round(number)
    if not isinstance(ndigits, int) or abs(ndigits) > MAX_ROUND_DIGITS:
        raise _too_big(f"round 的位数超过 {MAX_ROUND_DIGITS}")
    return round(number, ndigits)


def _sum(items: Any, start: Any = 0) -> Any:
    """``sum`` over a value of bounded weight whose result is bounded too (``sum(lists, [])``)."""
    _built(items)
    _built(start)
    if isinstance(start, _SIZED):
        total = weight(start) + _binop_weight(items)
        if total > MAX_LENGTH:
            raise _too_big(f"超过 {MAX_LENGTH} 项")
    return sum(items, start)


def _binop_weight(items: Any) -> int:
    return sum(weight(i) for i in (items.values() if isinstance(items, dict) else items))


def _bounded_call(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` (min, max, sorted, ...) that refuses arguments heavier than ``MAX_LENGTH``."""

    def call(*args: Any, **kwargs: Any) -> Any:
        for arg in [*args, *kwargs.values()]:
            _built(arg)
        return fn(*args, **kwargs)

    call.__name__ = fn.__name__
    return call


_SCALARS = (str, int, float, bool, type(None), date, datetime, Decimal)


def _text(value: Any = "") -> str:
    """``str()`` and f-string values: scalars only (the text of a list of large strings
    would be a memory bomb), and never longer than ``MAX_LENGTH``."""
    if not isinstance(value, _SCALARS):
        raise WorkflowError("脚本中不允许把列表或字典转换为文本")
    text = builtins.str(value)
    if len(text) > MAX_LENGTH:
        raise _too_big(f"长度超过 {MAX_LENGTH}")
    return text


def _restricted(source: str, mode: str) -> Any:
    fn = compile_restricted_exec if mode == "exec" else compile_restricted_eval
    return fn(source, policy=_SizeGuardPolicy)


@lru_cache(maxsize=2048)
def _compile(source: str, mode: str) -> Any:
    check_source(source, mode)
    compiled = _restricted(source, mode)
    if compiled.errors:
        raise WorkflowError("；".join(compiled.errors))
    return compiled.code


def _inplace(op: str, x: Any, y: Any) -> Any:
    if op == "+=":
        return _binop("+", x, y)
    if op == "-=":
        return operator.isub(x, y)  # type: ignore[no-untyped-call]  # unannotated in typeshed
    raise WorkflowError(f"不允许的运算 {op}")


def _base_globals() -> dict[str, Any]:
    allowed = {name: getattr(builtins, name) for name in SAFE_BUILTIN_NAMES}
    allowed["str"] = _text
    allowed["round"] = _round
    allowed["sum"] = _sum
    for name in ("min", "max", "sorted", "any", "all", "list", "tuple", "dict"):
        allowed[name] = _bounded_call(allowed[name])
    allowed.update({"True": True, "False": False, "None": None})
    return {
        "__builtins__": allowed,
        "_getattr_": _safe_method_getattr,
        "_getitem_": default_guarded_getitem,
        "_getiter_": iter,
        "_write_": lambda obj: obj,
        "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
        "_unpack_sequence_": guarded_unpack_sequence,
        "_inplacevar_": _inplace,
        "_binop_": _binop,
        "_text_": _text,
        "_built_": _built,
        "_fstr_": _fstr,
    }


def _safe_method_getattr(obj: Any, name: str, default: Any = None) -> Any:
    if name not in SAFE_METHODS:
        raise WorkflowError(f"不允许访问属性 .{name}")
    return safer_getattr(obj, name, default)  # type: ignore[no-untyped-call]  # unannotated upstream


class RestrictedEnvironment(BasePythonScriptEngineEnvironment):  # type: ignore[misc]
    """Script environment that runs only checked, RestrictedPython-compiled code."""

    def __init__(
        self,
        functions: Mapping[str, Callable[..., Any]] | None = None,
        services: ServiceHandler | None = None,
    ) -> None:
        super().__init__({})
        self.functions = dict(functions or {})
        self.services = services
        self._base = _base_globals()

    def _namespace(self, context: dict[str, Any],
                   external: dict[str, Any] | None) -> dict[str, Any]:
        clash = set(self.functions) & set(context)
        if clash:
            raise WorkflowError(f"流程数据与函数同名：{', '.join(sorted(clash))}")
        return {**context, **(external or {}), **self.functions, **self._base}

    def evaluate(self, expression: str, context: dict[str, Any],
                 external_context: Any = None) -> Any:
        code = _compile(expression.strip(), "eval")
        ns = self._namespace(context, external_context)
        with budget.evaluation():
            return eval(code, ns)  # noqa: S307

    def execute(self, script: str, context: dict[str, Any], external_context: Any = None) -> bool:
        code = _compile(script, "exec")
        ns = self._namespace(context, external_context)
        with budget.evaluation():
            exec(code, ns)  # noqa: S102
        reserved = set(self._base) | set(self.functions) | set(external_context or {})
        for key, value in ns.items():
            if key in reserved or key.startswith("_") or callable(value):
                continue
            context[key] = value
        return True

    def call_service(self, context: dict[str, Any], operation_name: str = "",
                     operation_params: dict[str, Any] | None = None, **_: Any) -> str:
        if self.services is None:
            raise WorkflowError(f"服务操作 {operation_name} 不可用")
        params = {k: v.get("value") for k, v in (operation_params or {}).items()}
        result = self.services(operation_name, params, context)
        return json.dumps(result, ensure_ascii=False, default=str)


MAX_FUNCTION_CALLS = 6  # calls of named (calendar, clock) functions in one text
MAX_DATE_YEARS = 3  # constant dates within this many years of today


def _mults_sequence(node: ast.AST) -> bool:
    """A repetition inside a repetition, over a string or list (``[x] * n * m``)."""
    if not (isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult)):
        return False
    inner = [n for side in (node.left, node.right) for n in ast.walk(side)
             if isinstance(n, ast.BinOp) and isinstance(n.op, ast.Mult)]
    return bool(inner) and any(_is_str_or_seq_const(n) for n in ast.walk(node))


def cost_problems(source: str, mode: str, functions: Iterable[str],
                  today: date | None = None) -> list[str]:
    """What makes the cost of a text unbounded, where that can be told without running it:
    many calls of the named (calendar) functions, constant dates far from today (the
    calendar counts day by day), repetition inside repetition."""
    try:
        tree = ast.parse(source, mode=mode)
    except SyntaxError:
        return []
    names, year = frozenset(functions), (today or date.today()).year
    out: list[str] = []
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call)
             and isinstance(n.func, ast.Name) and n.func.id in names]
    if len(calls) > MAX_FUNCTION_CALLS:
        out.append(f"调用函数 {len(calls)} 次（最多 {MAX_FUNCTION_CALLS} 次），运行开销无法确定")
    for call in calls:
        for arg in ast.walk(call):
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                try:
                    day = date.fromisoformat(arg.value[:10])
                except ValueError:
                    continue
                if abs(day.year - year) > MAX_DATE_YEARS:
                    out.append(f"日期 {arg.value} 超出今天前后 {MAX_DATE_YEARS} 年的范围，"
                               "日历函数会逐日计算")
    for node in ast.walk(tree):
        if _mults_sequence(node):
            out.append(f"第 {getattr(node, 'lineno', 1)} 行：嵌套的重复运算（字符串或列表重复后再重复），"
                       "结果大小无法确定")
            break
    return out


def problems_for(element_id: str, source: str, mode: str, known: Iterable[str],
                 functions: Iterable[str] = ()) -> list[Problem]:
    """Check one piece of diagram text and return the problems found (none if safe)."""
    try:
        check_source(source, mode, known)
    except WorkflowError as exc:
        return [Problem(element_id, exc.message)]
    return [Problem(element_id, m) for m in cost_problems(source, mode, functions)]
