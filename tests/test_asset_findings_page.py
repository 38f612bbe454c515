"""The asset page shows the rules engine's findings with their explanations."""
from __future__ import annotations

from datetime import date

from registry.enums import Category
from tests import factories


def test_asset_page_shows_findings_with_citation(client, login, app, runner):
    assert runner.invoke(args=["registry", "rules", "seed"]).exit_code == 0
    with app.app_context():
        old = factories.make_asset(Category.CONSTRUCTION_MACHINE, commissioned_on=date(2010, 3, 1),
                                   manufactured_on=date(2010, 1, 1)).id
    login("maintainer", "zjj")
    html = client.get(f"/assets/{old}").get_data(as_text=True)
    assert "规则判定结果" in html
    assert "XZ-8a" in html
    assert "新政〔2024〕3号" in html
    assert "超过 10 年" in html
