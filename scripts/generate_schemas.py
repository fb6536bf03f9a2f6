"""Write knowledge/schemas/*.schema.json from the pydantic models in bot/schema.py."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from bot.schema import json_schemas

SCHEMA_DIR = Path(__file__).resolve().parent.parent / "knowledge" / "schemas"


def render(schema: dict[str, object]) -> str:
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def main() -> int:
    SCHEMA_DIR.mkdir(parents=True, exist_ok=True)
    for name, schema in json_schemas().items():
        (SCHEMA_DIR / name).write_text(render(schema), encoding="utf-8")
        print(f"wrote {SCHEMA_DIR / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
