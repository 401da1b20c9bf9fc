"""数据导入 through the pages: upload, batches as JSON for the progress bar, the error report."""

from __future__ import annotations

import csv
import io

from flask import Flask

from app.extensions import db
from app.models import ImportJob
from tests.conftest import WebClient
from tests.factories import World
from tests.services.test_imports import INSTITUTIONS


def test_upload_progress_and_error_report(web: WebClient, web_world: World) -> None:
    web.login("admin01")
    web.get("/admin/imports")
    refused = web.post("/admin/imports", {"kind": "institutions",
                                          "file": (io.BytesIO("登记号\nA\n".encode()), "x.csv")},
                       content_type="multipart/form-data")
    assert refused.status_code == 422 and "文件缺少必需的列" in refused.get_data(as_text=True)
    resp = web.post("/admin/imports", {"kind": "institutions",
                                       "file": (io.BytesIO(INSTITUTIONS.encode("gb18030")), "机构.csv")},
                    content_type="multipart/form-data")
    assert resp.status_code == 302
    job_url = resp.headers["Location"]
    page = web.get(job_url).get_data(as_text=True)
    assert "继续导入" in page and 'data-k="processed">0</span> / 5' in page
    step = web.client.post(job_url + "/step", headers={"Accept": "application/json",
                                                       "X-CSRFToken": web.token})
    assert step.get_json() == {"processed": 5, "total": 5, "imported": 2, "failed": 3, "status": "done"}
    done = web.get(job_url).get_data(as_text=True)
    assert "机构名称不能为空" in done and "下载错误报告" in done
    report = web.client.get(job_url + "/errors.csv")
    assert report.mimetype == "text/csv" and "没有区划代码为 999999" in report.get_data(as_text=True)
    template = web.client.get("/admin/imports/template/registrations.csv").get_data(as_text=True)
    assert template.startswith("\ufeff执业证书编码,资格证书编码")


def test_the_error_report_and_templates_never_hand_a_spreadsheet_a_formula(
        app: Flask, web: WebClient, web_world: World) -> None:
    with app.app_context():
        job = ImportJob(kind="institutions", filename="a.csv", content="登记号\n", total=3,
                        errors=[[2, "机构名称", '=HYPERLINK("http://e.x","点")'],
                                [3, "+地址", "@SUM(1)"], [4, "机构名称", "机构名称不能为空"]],
                        created_by_id=web_world.admin_id)
        db.session.add(job)
        db.session.commit()
        job_id = job.id
    web.login("admin01")
    report = web.client.get(f"/admin/imports/{job_id}/errors.csv").get_data(as_text=True)
    assert report.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(report.lstrip("\ufeff"), newline="")))
    assert rows == [["行号", "列", "问题"], ["2", "机构名称", "'=HYPERLINK(\"http://e.x\",\"点\")"],
                    ["3", "'+地址", "'@SUM(1)"], ["4", "机构名称", "机构名称不能为空"]]
    for kind in ("institutions", "qualifications", "registrations"):
        template = web.client.get(f"/admin/imports/template/{kind}.csv").get_data(as_text=True)
        assert template.count("\ufeff") == 1 and template.endswith("\r\n")
