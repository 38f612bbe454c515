"""Every malformed upload in tests/corpus gets a clear Chinese 4xx answer and changes nothing."""
from __future__ import annotations

import json
import os
import re

import pytest

from tests.corpus.make_corpus import CORPUS_MAX_ROWS
from tests.excel_helpers import snapshot, upload

CORPUS = os.path.join(os.path.dirname(__file__), "corpus")
with open(os.path.join(CORPUS, "manifest.json"), encoding="utf-8") as _fh:
    MANIFEST = json.load(_fh)


def test_corpus_is_complete():
    files = sorted(os.listdir(os.path.join(CORPUS, "files")))
    assert files == sorted(MANIFEST)
    assert len(files) >= 30


@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_malformed_upload_is_refused_in_chinese(app, client, login, name):
    status, fragment = MANIFEST[name]
    app.config["IMPORT_MAX_ROWS"] = CORPUS_MAX_ROWS
    login("maintainer", "zjj")
    with app.app_context():
        from tests import factories
        factories.make_asset()  # a non-empty database, so "unchanged" means something
        before = snapshot()
    with open(os.path.join(CORPUS, "files", name), "rb") as fh:
        resp = upload(client, fh.read(), name)
    if resp.status_code == 302:  # not the registry's template: the refusal comes on the mapping page
        resp = client.get(resp.headers["Location"])
    text = resp.get_data(as_text=True)
    assert resp.status_code == status, text[:2000]
    assert fragment in text
    assert re.search(r"[\u4e00-\u9fff]", fragment)
    with app.app_context():
        assert snapshot() == before
