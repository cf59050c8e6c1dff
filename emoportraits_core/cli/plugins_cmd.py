"""``emoportraits plugins``: list kinds, components, their providers and configs."""

from __future__ import annotations

import argparse
import json

from ..config import describe_config
from ..plugin_manager import get_plugin_manager, get_registry, loaded_plugins


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "plugins",
        help="list the registered component kinds and components",
        description="List every component kind and the registered components of each, with the "
        "distribution that provides them. -v adds each component's config fields and presets.",
    )
    p.add_argument("kind", nargs="?", help="only this kind (e.g. warper)")
    p.add_argument("--pattern", default="*", help="only names matching this fnmatch pattern (default: *)")
    p.add_argument("-v", "--verbose", action="store_true", help="show config fields, defaults and presets")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    registry = get_registry()
    kinds = [registry.get_kind(args.kind)] if args.kind else registry.kinds()
    if args.json:
        out = {
            k.name: [
                {
                    "name": e.name,
                    "description": e.description,
                    "distribution": e.distribution,
                    "plugin": e.plugin,
                    "module": e.module,
                    "config": [
                        {"field": f, "type": t, "default": repr(d)}
                        for f, t, d in describe_config(e.config_cls)
                    ],
                    "presets": sorted(e.presets),
                }
                for e in registry.list(k.name, args.pattern)
            ]
            for k in kinds
        }
        print(json.dumps(out, indent=2))
        return 0
    for kind in kinds:
        entries = registry.list(kind.name, args.pattern)
        print(f"{kind.name}  ({kind.description}; {len(entries)} registered)")
        for e in entries:
            provider = e.distribution or e.plugin or "?"
            print(f"  {e.name:<34} {e.description.replace('``', '')}  [{provider}]")
            if args.verbose:
                if e.presets:
                    print(f"      presets: {', '.join(sorted(e.presets))}")
                for field, type_name, default in describe_config(e.config_cls):
                    print(f"      {field}: {type_name} = {default!r}")
    broken = [p for p in loaded_plugins(get_plugin_manager()) if p.error]
    for p in broken:
        print(f"plugin '{p.name}' ({p.distribution}) failed to load: {p.error}")
    return 0
