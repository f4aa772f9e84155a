"""One router per feature; `create_routers` wires them in the order they are tried."""

from __future__ import annotations

from aiogram import Router

from bot.handlers import compare, errors, fallback, lookup, start


def create_routers() -> list[Router]:
    """Fresh routers (a router can belong to one dispatcher only), most specific first."""
    return [start.create_router(), compare.create_router(), lookup.create_router(), fallback.create_router(),
            errors.create_router()]
