#!/usr/bin/env bash
# A production install from the wheel, start to finish (issue 12 §7):
#   build the wheel → a fresh venv with `pip install medreg-*.whl` (no extras) → MEDREG_ENV=production
#   → flask db upgrade (PostgreSQL) → flask seed --no-demo → users create-admin → bpmn load
#   → flask processes test → flask processes publish of every process (version 2, audited)
#   → the home page and a vendored asset served from the installed package.
# Runs outside the checkout, so every file must come from the installed wheel.
#
#   WHEEL_CHECK_DATABASE_URL  PostgreSQL URL of an empty database (required; .ci/run and
#                             `make wheel-check` create one)
#   WHEEL_CHECK_REDIS_URL     the rate-limit store (default: a redis-server of our own)
#   PYTHON                    the interpreter of the fresh venv (default: python3)
#   KEEP=1                    keep the work folder (printed) for a look afterwards
set -euo pipefail

cd "$(dirname "$0")/.."
SRC=$(pwd)
PYTHON=${PYTHON:-python3}
: "${WHEEL_CHECK_DATABASE_URL:?set WHEEL_CHECK_DATABASE_URL to an empty PostgreSQL database}"

WORK=$(mktemp -d -t medreg-wheel-XXXXXX)
REDIS_PID=""
cleanup() {
    if [ -n "${REDIS_PID}" ]; then kill "${REDIS_PID}" 2>/dev/null || true; fi
    if [ "${KEEP:-0}" = 1 ]; then echo "work folder kept: ${WORK}"; else rm -rf "${WORK}"; fi
}
trap cleanup EXIT

step() { printf '\n---- wheel-check: %s\n' "$*"; }

step "build the wheel"
test -e app/static/vendor || { echo "app/static/vendor is missing: run 'make assets' first" >&2; exit 1; }
"${PYTHON}" -m venv "${WORK}/tools"
if "${WORK}/tools/bin/pip" install -q build >/dev/null 2>&1; then
    # sdist first, then the wheel from the sdist: proves MANIFEST.in carries the data too
    "${WORK}/tools/bin/python" -m build --outdir "${WORK}/dist" . >"${WORK}/build.log" 2>&1 \
        || { cat "${WORK}/build.log" >&2; exit 1; }
else
    echo "(the 'build' package is not available: pip wheel instead)"
    "${WORK}/tools/bin/pip" wheel . --no-deps -w "${WORK}/dist" -q
fi
rm -rf build  # setuptools' in-tree scratch folder
WHEEL=$(ls "${WORK}"/dist/medreg-*.whl)
echo "${WHEEL}"

step "fresh venv, pip install the wheel (no extras)"
"${PYTHON}" -m venv "${WORK}/venv"
"${WORK}/venv/bin/pip" install -q "${WHEEL}"
mkdir "${WORK}/run"
cd "${WORK}/run"  # not the checkout: nothing may be read from it
"${WORK}/venv/bin/python" - "${SRC}" <<'PY'
import sys
from pathlib import Path

import app
from app import resources

where = Path(app.__file__).resolve()
assert Path(sys.argv[1]).resolve() not in where.parents, f"app imported from the checkout: {where}"
assert resources.base() == where.parent / "_data", resources.base()
print("app from", where.parent, "- data from", resources.base())
PY

if [ -z "${WHEEL_CHECK_REDIS_URL:-}" ]; then
    PORT=$("${WORK}/venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    redis-server --port "${PORT}" --bind 127.0.0.1 --save "" --appendonly no --dir "${WORK}" >/dev/null &
    REDIS_PID=$!
    for _ in $(seq 1 30); do redis-cli -p "${PORT}" ping >/dev/null 2>&1 && break; sleep 0.2; done
    WHEEL_CHECK_REDIS_URL="redis://127.0.0.1:${PORT}/0"
fi

export MEDREG_ENV=production
export SECRET_KEY="wheel-check-$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
export MEDREG_AUDIT_KEY="wheel-check-audit-$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
export MEDREG_MAIL_BACKEND=smtp MEDREG_SMTP_HOST=127.0.0.1 MEDREG_SMTP_PORT=25
export RATELIMIT_STORAGE_URI="${WHEEL_CHECK_REDIS_URL}"
export DATABASE_URL="${WHEEL_CHECK_DATABASE_URL}"
export MEDREG_UPLOAD_DIR="${WORK}/uploads"
unset MEDREG_CAPTCHA MEDREG_FAST_HASH MEDREG_SCHEDULER TEST_DATABASE_URL
FLASK=("${WORK}/venv/bin/flask" --app app)

step "flask db upgrade"
"${FLASK[@]}" db upgrade

step "flask seed --no-demo"
"${FLASK[@]}" seed --no-demo

step "flask users create-admin"
printf 'Admin%s\n' "$(date +%Y)" | "${FLASK[@]}" users create-admin --username sysadmin --password-stdin

step "flask bpmn load"
"${FLASK[@]}" bpmn load

step "test cases"
# flask processes test runs workflows_tests/<process_id>/*.json (exit 1 on any failure).
"${FLASK[@]}" processes test

step "publish"
# A scripted publish of every process, from the installed wheel's diagrams and forms: the
# command opens a draft, runs its cases here with the editor's runner and gate, and publishes
# through the editor's 发布 (audited); exit 1 with the reasons otherwise.
for path in $("${WORK}/venv/bin/python" -c 'from app import resources; print(" ".join(sorted(str(p) for p in resources.bpmn_dir().glob("*.bpmn"))))'); do
    pid=$(basename "${path}" .bpmn)
    "${FLASK[@]}" processes publish "${pid}" --author sysadmin --from-files --note "安装检查：按安装包发布"
done
"${WORK}/venv/bin/python" - <<'PY'
from sqlalchemy import select

from app import create_app
from app import resources
from app.extensions import db
from app.models import AuditEvent
from app.models import ProcessDefinition
from app.models import User
from app.services.backoffice import definitions

app = create_app()
with app.app_context():
    shipped = sorted(p.stem for p in resources.bpmn_dir().glob("*.bpmn"))
    assert len(shipped) >= 10, shipped
    admin = db.session.scalar(select(User).where(User.username == "sysadmin"))
    assert admin is not None and admin.role.value == "admin"
    for pid in shipped:
        row = definitions.published(pid)
        assert row.version == 2 and row.author == "sysadmin", (pid, row.version, row.author)
        print(f"  {pid}: 版本 {row.version} 已发布 {row.published_at:%Y-%m-%d %H:%M}（{row.author}）")
    published = db.session.scalar(select(db.func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "process.published", AuditEvent.actor_id == admin.id))
    assert published == len(shipped), published
    assert db.session.scalar(select(db.func.count()).select_from(ProcessDefinition)) == 2 * len(shipped)
    client = app.test_client()
    portal = client.get("/", base_url="https://localhost")  # the portal: the two editions
    assert portal.status_code == 200 and "医师个人版" in portal.get_data(as_text=True), portal.status_code
    login = client.get("/login?edition=physician", base_url="https://localhost")
    assert login.status_code == 200 and "（个人端）" in login.get_data(as_text=True), login.status_code
    # 使用手册 and 业务说明 are served from the installed package (templates + published definitions)
    for url, text in (("/guide/manual/physician", "医师电子化注册培训教程"),
                      ("/guide/manual/institution", "医疗机构电子化注册培训教程"),
                      ("/guide/types/registration", "20个工作日")):
        page = client.get(url, base_url="https://localhost")
        assert page.status_code == 200 and text in page.get_data(as_text=True), (url, page.status_code)
    manual_pdf = client.get("/guide/manual/physician.pdf", base_url="https://localhost")
    assert manual_pdf.status_code in (200, 503), manual_pdf.status_code  # 503: no CJK font installed
    asset = client.get("/static/vendor/bpmn-js/bpmn-navigated-viewer.production.min.js",
                       base_url="https://localhost")
    assert asset.status_code == 200, asset.status_code
    print(f"{len(shipped)} 个流程已由 sysadmin 发布版本 2（审计日志已记录）；门户、登录页、使用手册、业务说明与静态资源由安装包提供")
PY

step "/healthz (database, scheduler sweep, outbox) from the installed package"
MEDREG_HEALTH_TOKEN="wheel-check-health-token" "${WORK}/venv/bin/python" - <<'PY'
from app import create_app
from app.services.platform import scheduler

app = create_app()
client = app.test_client()
before = client.get("/healthz")
assert (before.status_code, before.get_json()) == (503, {"status": "unavailable"}), before.get_json()
scheduler.sweep(app)  # one sweep of `flask scheduler run` records its time
after = client.get("/healthz", headers={"Authorization": "Bearer wheel-check-health-token"})
body = after.get_json()
assert after.status_code == 200 and body["problems"] == [] and body["database"] == "ok", body
assert after.headers["X-Request-Id"], after.headers
print("  /healthz:", body)
PY

step "OK: the wheel installs and runs in production mode"
