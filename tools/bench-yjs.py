"""The Yjs peer for tools/bench: receipt-shaped maps authored on 8 replicas with pycrdt, merged at one.

Input: a JSON array (one entry per replica) of arrays of receipt payloads (JSON strings, as Shopfloor's
operations carry them). Prints one JSON object with the merge rate and the encoded sizes.
"""

import argparse
import gzip
import json
import sys
import time
from importlib.metadata import version

from pycrdt import Array, Doc, Map


def author(replica, payloads, batch):
    """Each receipt in its own transaction, as a device records it; one update per `batch` receipts."""
    doc = Doc(client_id=replica + 1)
    receipts = doc.get("receipts", type=Map)
    updates = []
    for start in range(0, len(payloads), batch):
        before = doc.get_state()
        for text in payloads[start:start + batch]:
            receipt = json.loads(text)
            with doc.transaction():
                receipts[receipt["receipt"]] = Map({
                    "order": receipt["order"],
                    "receipt": receipt["receipt"],
                    "lines": Array([Map({"sku": line["sku"], "quantity": line["quantity"]}) for line in receipt["lines"]]),
                })
        updates.append((doc.get_update(before), len(payloads[start:start + batch])))
    return updates


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--input", required=True)
    parser.add_argument("--batch", type=int, default=500)
    args = parser.parse_args()
    with open(args.input) as handle:
        replicas = json.load(handle)
    updates = [author(index, payloads, args.batch) for index, payloads in enumerate(replicas)]
    total = sum(len(payloads) for payloads in replicas)

    full = [(update, count) for per in updates for (update, count) in per if count == args.batch]
    raw = sum(len(update) for update, _ in full)
    packed = sum(len(gzip.compress(update, compresslevel=6)) for update, _ in full)
    receipts_in_full = sum(count for _, count in full) or 1

    # Merge at one doc, the replicas' batches interleaved as they would arrive.
    merged = Doc()
    rounds = max(len(per) for per in updates)
    start = time.perf_counter()
    for index in range(rounds):
        for per in updates:
            if index < len(per):
                merged.apply_update(per[index][0])
    seconds = time.perf_counter() - start
    count = len(merged.get("receipts", type=Map))
    if count != total:
        print(f"merged doc holds {count} receipts, expected {total}", file=sys.stderr)
        sys.exit(1)
    document = merged.get_update()
    json.dump({
        "receipts": total,
        "replicas": len(replicas),
        "merge_seconds": seconds,
        "merge_rate": total / seconds,
        "batch_bytes_per_receipt": raw / receipts_in_full,
        "batch_gzip_bytes_per_receipt": packed / receipts_in_full,
        "document_bytes_per_receipt": len(document) / total,
        "document_gzip_bytes_per_receipt": len(gzip.compress(document, compresslevel=6)) / total,
        "version": "pycrdt " + version("pycrdt"),
    }, sys.stdout)


if __name__ == "__main__":
    main()
