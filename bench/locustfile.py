"""The registration journey under load (run by bench/load.py, not imported by the app).

Physicians (each iteration a physician who has not applied yet) sign in and submit a 注册
application with two PDF files; institution staff work their inbox and confirm; commission
officers accept and approve. Requests are named by step so the report reads per endpoint.
"""

from __future__ import annotations

import io
import itertools
import json
import os
import re

from locust import HttpUser
from locust import between
from locust import task

SETUP = json.loads(os.environ["MEDREG_LOAD_SETUP"])
PDF = b"%PDF-1.4\n% load\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
_next_physician = itertools.count()


def _photo() -> bytes:
    """A 2-inch white JPEG, as the form asks (近期二寸免冠白底正面半身照片)."""
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (354, 472), (250, 250, 250)).save(out, format="JPEG")
    return out.getvalue()


PHOTO = _photo()
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
TASK_LINK = re.compile(r'href="/inbox/tasks/(\d+)"')
SUBMIT = re.compile(r'name="submit_token" value="([^"]+)"')  # the form's idempotency token


def submit_token(page: str) -> dict[str, str]:
    """The form's idempotency token, sent back as a browser sends every hidden field."""
    found = SUBMIT.search(page)
    return {"submit_token": found.group(1)} if found else {}


class Staff(HttpUser):
    abstract = True
    wait_time = between(0.5, 1.5)
    username = ""

    def login(self, username: str, password: str) -> str:
        page = self.client.get("/login", name="登录页").text
        self.client.post("/login", name="登录", data={"csrf_token": TOKEN.search(page).group(1),
                                                       "username": username, "password": password})
        return TOKEN.search(self.client.get("/inbox/", name="待办任务").text).group(1)

    def work(self, decisions: dict[str, str]) -> None:
        """Open the first task of the inbox and decide it."""
        page = self.client.get("/inbox/", name="待办任务").text
        for task_id in TASK_LINK.findall(page)[:3]:
            form = self.client.get(f"/inbox/tasks/{task_id}", name="办理页").text
            token = TOKEN.search(form)
            step = next((d for key, d in decisions.items() if f'value="{d}"' in form and key in form), None)
            if token is None or step is None:
                continue
            with self.client.post(f"/inbox/tasks/{task_id}/complete", name="提交办理意见",
                                  data={"csrf_token": token.group(1), "decision": step, "paper_held": "on",
                                        **submit_token(form)},
                                  allow_redirects=False, catch_response=True) as resp:
                if resp.status_code != 302:
                    resp.failure(f"办理失败 {resp.status_code}")
            return


class Institution(Staff):
    weight = 4

    def on_start(self) -> None:
        self.login(SETUP["institution_user"], SETUP["password"])

    @task
    def confirm(self) -> None:
        self.work({"医疗机构确认": "confirm"})


class Commission(Staff):
    weight = 4

    def on_start(self) -> None:
        self.login(SETUP["commission_user"], SETUP["password"])

    @task
    def decide(self) -> None:
        self.work({"卫健委受理": "accept", "审查决定": "approve"})


class Physician(HttpUser):
    weight = 12
    wait_time = between(1, 3)

    @task
    def apply(self) -> None:
        n = next(_next_physician)
        if n >= SETUP["physicians"]:
            return
        self.client.cookies.clear()
        page = self.client.get("/login", name="登录页").text
        self.client.post("/login", name="登录", data={"csrf_token": TOKEN.search(page).group(1),
                                                       "username": f"load{n:05d}", "password": SETUP["password"]})
        form = self.client.get("/physician/apply/registration", name="申请页").text
        token = TOKEN.search(form)
        if token is None:
            return
        data = {"csrf_token": token.group(1), "institution_id": str(SETUP["institution_id"]),
                "department_id": str(SETUP["department_id"]), "practice_scopes": "11",
                "contact_mobile": "15175070658", "declare_health": "on", "declare_no_bar": "on",
                **submit_token(form)}
        files = {"employment_proof": ("聘用证明.pdf", PDF + b"e" + str(n).encode(), "application/pdf"),
                 "photo": ("照片.jpg", PHOTO, "image/jpeg")}
        with self.client.post("/physician/apply/registration", name="提交申请", data=data, files=files,
                              allow_redirects=False, catch_response=True) as resp:
            if resp.status_code == 302 and "/physician/applications/" in resp.headers.get("Location", ""):
                resp.success()
            else:
                resp.failure(f"申请未提交 {resp.status_code}")
        self.client.get("/physician/applications", name="业务查询")
