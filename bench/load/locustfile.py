"""Mixed workload for `bench/load_test.py`: what inventory staff and inspectors do all day.

Each simulated client logs in through the login form (CSRF and all; the statistics are reset once every
client has logged in, so they describe the working day, not the morning login), then, with a think time of
0.5–1.5 s between actions, lists and filters the inventory, opens assets, edits one through the API
(read ETag, PATCH with If-Match), exports a unit's assets to Excel and downloads notice PDFs.
Reads LOAD_FIXTURE (written by bench/load/prepare.py).
"""
from __future__ import annotations

import itertools
import json
import os
import random
import re

from locust import between, task
from locust.contrib.fasthttp import FastHttpUser

with open(os.environ["LOAD_FIXTURE"], encoding="utf-8") as _fh:
    FIXTURE = json.load(_fh)
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
CATEGORIES = ["elevator", "construction_machine", "pipe", "official_car", "farm_machine", "medical_device"]
GRADES = ["good", "fairly_good", "fair", "poor", "bad"]
_slices = itertools.count()
_logins = itertools.count(1)


def _logged_in(environment) -> None:
    # Staff log in once a morning; an Argon2 login costs far more CPU than a page, and 100 of them at once
    # would swamp the first seconds. Statistics start when the last client has logged in.
    if next(_logins) == environment.parsed_options.num_users:
        environment.runner.stats.reset_all()


class Staff(FastHttpUser):
    """One logged-in member of staff (city-wide reader for pages, a 住建局 token for edits)."""

    wait_time = between(0.5, 1.5)

    def on_start(self):
        page = self.client.get("/login", name="login form")
        token = CSRF.search(page.text).group(1)
        self.client.post("/login", data={"username": FIXTURE["reader"], "password": FIXTURE["password"],
                                         "csrf_token": token}, name="login", allow_redirects=False)
        # A disjoint slice of assets to edit per client, so two clients never race for one asset.
        ids = FIXTURE["edit_ids"]
        n = next(_slices)
        self.edit_ids = ids[n * 100 % len(ids):][:100] or ids[:100]
        self.api = {"Authorization": f"Bearer {FIXTURE['token']}"}
        _logged_in(self.environment)

    @task(6)
    def list_page(self):
        self.client.get(f"/assets/c/{random.choice(CATEGORIES)}", name="list")

    @task(5)
    def filtered_list(self):
        params = random.choice([
            {"township": random.choice(FIXTURE["townships"])},
            {"grade": random.choice(GRADES), "age_min": str(random.randint(8, 20))},
            {"township": random.choice(FIXTURE["townships"]), "status": "in_use"},
            {"year": str(random.randint(2000, 2020))},
        ])
        self.client.get(f"/assets/c/{random.choice(CATEGORIES)}", params=params, name="filter")

    @task(5)
    def detail(self):
        self.client.get(f"/assets/{random.randint(1, FIXTURE['max_asset_id'])}", name="detail")

    @task(2)
    def edit(self):
        asset_id = random.choice(self.edit_ids)
        got = self.client.get(f"/api/v1/assets/{asset_id}", headers=self.api, name="edit: read")
        if got.status_code != 200:
            return
        self.client.patch(f"/api/v1/assets/{asset_id}", json={"notes": f"负载测试 {random.randint(0, 10**6)}"},
                          headers={**self.api, "If-Match": got.headers["ETag"]}, name="edit: PATCH")

    @task(1)
    def export(self):
        unit, category = random.choice(FIXTURE["export_units"])
        self.client.get("/assets/export", params={"owner_unit": unit, "category": category}, name="export xlsx")

    @task(1)
    def notice_pdf(self):
        self.client.get(f"/notices/{random.choice(FIXTURE['notice_ids'])}/pdf", name="notice PDF")


class Baseline(FastHttpUser):
    """The same clients asking only /healthz (one `SELECT 1`): what the server stack costs by itself."""

    wait_time = between(0.5, 1.5)

    @task
    def health(self):
        self.client.get("/healthz", name="healthz")
