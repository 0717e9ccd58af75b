"""The fixture API's URLs: what nginx (and fake_upstream.py) serve, and what
driftgate should conclude about each. Shared by suite.py (nginx.conf
generation, expectations) and fake_upstream.py.

Each route: path -> dict(
    body:   file under fixtures/body/ (None: inline `inline` bytes or no body),
    ct:     Content-Type the upstream sends,
    status: HTTP status,
    op:     operation label expected in metrics,
    verdict: valid | invalid | skipped (strict profile, the quick-start default),
    kind/pointer: the expected violation for invalid bodies,
    sentinel: a raw value in the drifted body that must never leak).
"""
import os

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "fixtures")
BODIES = os.path.join(FIXTURES, "body")

ROUTES = {
    "/items/1": dict(body="item-valid.json", ct="application/json", status=200, op="getItem",
                     verdict="valid"),
    "/items/2": dict(body="item-type.json", ct="application/json", status=200, op="getItem",
                     verdict="invalid", kind="type", pointer="/price", sentinel="SENTINEL_T_4f1c"),
    "/items/3": dict(body="item-required.json", ct="application/json", status=200, op="getItem",
                     verdict="invalid", kind="required", pointer=""),
    "/items/4": dict(body="item-enum.json", ct="application/json", status=200, op="getItem",
                     verdict="invalid", kind="enum", pointer="/status", sentinel="SENTINEL_E_91aa"),
    "/items/5": dict(body="item-extra.json", ct="application/json", status=200, op="getItem",
                     verdict="invalid", kind="additional", pointer="/internal_margin",
                     sentinel="SENTINEL_X_2b7d"),
    "/items/6": dict(body="item-null.json", ct="application/json", status=200, op="getItem",
                     verdict="invalid", kind="type", pointer="/sku"),
    "/items/7": dict(body="item-format.json", ct="application/json", status=200, op="getItem",
                     verdict="invalid", kind="format", pointer="/created_at", sentinel="SENTINEL_F_77e0"),
    "/items": dict(body="items.json", ct="application/json", status=200, op="listItems",
                   verdict="valid"),
    "/categories/tools/items": dict(body="items.json", ct="application/json", status=200,
                                    op="listCategoryItems", verdict="valid"),
    "/categories/toys/items": dict(body="items-drift.json", ct="application/json", status=200,
                                   op="listCategoryItems", verdict="invalid", kind="type",
                                   pointer="/3/price", sentinel="SENTINEL_L_c3d2"),
    "/items/404": dict(body="problem-404.json", ct="application/problem+json", status=404,
                       op="getItem", verdict="valid"),
    "/items/418": dict(body="teapot.json", ct="application/json", status=418, op="getItem",
                       verdict="invalid", kind="undocumented_status", pointer=""),
    "/ping": dict(body=None, ct=None, status=204, op="ping", verdict="valid"),
    "/streams/ok": dict(body="events.ndjson", ct="application/x-ndjson", status=200, op="getStream",
                        verdict="valid"),
    "/streams/bad": dict(body="events-drift.ndjson", ct="application/x-ndjson", status=200,
                         op="getStream", verdict="invalid", kind="enum", pointer="/7/type",
                         sentinel="SENTINEL_N_5e6f"),  # item 7 (0-based), i.e. line 8
    "/page": dict(body="page.html", ct="text/html", status=200, op="getPage", verdict="skipped"),
    # generated at test time (make_bodies.make_catalog), ~1.2 MB
    "/catalog": dict(body="@catalog", ct="application/json", status=200, op="getCatalog",
                     verdict="valid"),
}

SENTINEL_PREFIX = "SENTINEL_"


def body_path(route, tmp):
    b = route["body"]
    if b is None:
        return None
    if b == "@catalog":
        return os.path.join(tmp, "catalog.json")
    return os.path.join(BODIES, b)


def body_bytes(route, tmp):
    p = body_path(route, tmp)
    if p is None:
        return b""
    with open(p, "rb") as f:
        return f.read()
