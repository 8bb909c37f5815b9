#!/usr/bin/env python3
"""Counts the key sets of the stored records of encrypted indices, as the storage tier reads them (_source through
a scroll): e.g. how many records carry a cell c or a keyed residual z. Standard library only; loopback only.

    python3 scripts/record-keys.py --port 9480 [--field embedding] INDEX [INDEX ...]
"""
import argparse
import collections
import json
import urllib.request


def call(port, method, path, body=None):
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=120) as response:
        return json.load(response)


def key_sets(port, index, field):
    counts = collections.Counter()
    page = call(port, "POST", f"/{index}/_search?scroll=2m",
                {"size": 2000, "_source": [field], "query": {"match_all": {}}})
    try:
        while page["hits"]["hits"]:
            for hit in page["hits"]["hits"]:
                record = hit.get("_source", {}).get(field)
                counts[",".join(sorted(record)) if isinstance(record, dict) else "(no record)"] += 1
            page = call(port, "POST", "/_search/scroll", {"scroll": "2m", "scroll_id": page["_scroll_id"]})
    finally:
        call(port, "DELETE", "/_search/scroll", {"scroll_id": page["_scroll_id"]})
    return counts


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--field", default="embedding")
    parser.add_argument("indices", nargs="+")
    args = parser.parse_args()
    for index in args.indices:
        counts = key_sets(args.port, index, args.field)
        with_cell_or_z = sum(n for keys, n in counts.items() if {"c", "z"} & set(keys.split(",")))
        print(f"{index}: {sum(counts.values())} records, {with_cell_or_z} with c or z")
        for keys, n in counts.most_common():
            print(f"  {{{keys}}}: {n}")


if __name__ == "__main__":
    main()
