"""Drives a Shopfloor MCP server with the official MCP Python SDK (a client nobody here wrote).

    drive.py http URL TOKEN [--read-only]    HQ's /mcp, Streamable HTTP, with an API token
    drive.py stdio DB SHOPFLOOR [--read-only] `SHOPFLOOR --db DB mcp` over stdio

The replica must hold the fixture MCPTests writes: CHAIR (product, BOM LEG=4, SEAT=1), 100 LEG at 2.5 and 30 SEAT at
10 in PLANT. The script lists the tools, creates, enters and starts a production order for 10 CHAIR at 5, receives 4,
reads stock and checks the figures, and checks refusals; a read-only server must offer only the read tools. It prints
one JSON line of what it did (order, receipt, digest) and exits 0, or prints what differed and exits 1.
"""

import asyncio
import json
import sys

import httpx2
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client

READ_TOOLS = {"list_orders", "show_order", "stock", "ledger", "explode_bom", "list_conflicts", "digest"}
WRITE_TOOLS = {"create_order", "enter_order", "start_order", "complete_order", "cancel_order", "set_cost",
               "add_receipt", "void_receipt", "ack_conflict", "transfer_order"}


class Mismatch(Exception):
    pass


def expect(what, actual, wanted):
    if actual != wanted:
        raise Mismatch(f"{what}: got {actual!r}, wanted {wanted!r}")


async def call(session, name, arguments):
    result = await session.call_tool(name, arguments)
    if result.is_error:
        raise Mismatch(f"{name} {arguments} was refused: {result.content[0].text}")
    # The SDK has checked structured_content against the tool's output schema.
    expect(f"{name}'s text content", json.loads(result.content[0].text), result.structured_content)
    return result.structured_content


async def refused(session, name, arguments, words):
    result = await session.call_tool(name, arguments)
    expect(f"{name} {arguments} is a tool error", result.is_error, True)
    text = result.content[0].text
    if words not in text:
        raise Mismatch(f"{name}'s refusal {text!r} does not say {words!r}")
    return text


async def drive(session, read_only):
    await session.initialize()
    tools = {tool.name: tool for tool in (await session.list_tools()).tools}
    expect("the tools", set(tools), READ_TOOLS if read_only else READ_TOOLS | WRITE_TOOLS)
    for tool in tools.values():
        if tool.output_schema is None or tool.input_schema.get("type") != "object":
            raise Mismatch(f"{tool.name} lacks an input or output schema")
        hints = tool.annotations
        expect(f"{tool.name} readOnlyHint", hints.read_only_hint, tool.name in READ_TOOLS)
        if hints.destructive_hint is None or hints.idempotent_hint is None:
            raise Mismatch(f"{tool.name} lacks destructiveHint or idempotentHint")
    expect("cancel_order is destructive", read_only or tools["cancel_order"].annotations.destructive_hint, True)

    explosion = await call(session, "explode_bom", {"sku": "CHAIR", "quantity": "10"})
    expect("explosion", [(i["sku"], i["quantity"]) for i in explosion["inputs"]], [("LEG", "40"), ("SEAT", "10")])
    await refused(session, "show_order", {"number": "NO-SUCH"}, "NO-SUCH")
    if read_only:
        await refused(session, "create_order", {"location": "PLANT", "outputs": []}, "read-only")
        digest = await call(session, "digest", {})
        print(json.dumps({"digest": digest["digest"], "operations": digest["operations"]}))
        return

    await refused(session, "create_order", {"location": "PLANT", "outputs": [], "colour": "red"}, "colour")
    await refused(session, "create_order", {"location": "NOWHERE", "kind": "production",
                                            "outputs": [{"sku": "CHAIR", "quantity": "10"}]}, "NOWHERE")
    order = await call(session, "create_order", {
        "kind": "production", "location": "PLANT", "notes": "from the MCP client",
        "outputs": [{"sku": "CHAIR", "quantity": "10", "unit_cost": "5"}]})
    number = order["number"]
    expect("a new order's status", order["status"], "Draft")
    await refused(session, "start_order", {"number": number}, "Draft")
    expect("entered", (await call(session, "enter_order", {"number": number}))["status"], "Entered")
    started = await call(session, "start_order", {"number": number})
    expect("started", started["status"], "Production")
    expect("inputs", [(i["sku"], i["required"], i["allocated"]) for i in started["inputs"]],
           [("LEG", "40", "40"), ("SEAT", "10", "10")])
    receipt = await call(session, "add_receipt", {"number": number, "lines": [{"sku": "CHAIR", "quantity": "4"}]})
    expect("the receipt's lines", receipt["lines"], [{"sku": "CHAIR", "quantity": "4"}])
    await refused(session, "add_receipt", {"number": number, "lines": [{"sku": "CHAIR", "quantity": "four"}]},
                  "quantity")

    legs = (await call(session, "stock", {"sku": "LEG", "location": "PLANT"}))["items"]
    expect("LEG after the receipt", [(p["on_hand"], p["allocated"], p["value"]) for p in legs], [("84", "24", "210")])
    chairs = (await call(session, "stock", {"sku": "CHAIR", "location": "PLANT"}))["items"]
    # 5 production cost + 4 × 2.5 + 1 × 10 of material = 25 a chair.
    expect("CHAIR after the receipt", [(p["on_hand"], p["on_order"], p["value"]) for p in chairs], [("4", "6", "100")])
    ledger = await call(session, "ledger", {"ref": number, "limit": 500})
    events = sorted({entry["event"] for entry in ledger["items"]})
    expect("the order's ledger events", events, ["ALLOCATE", "CONSUME", "DEMAND", "ORDER", "PRODUCE"])
    listed = await call(session, "list_orders", {"status": "Production"})
    if number not in [o["number"] for o in listed["items"]]:
        raise Mismatch(f"list_orders status=Production lacks {number}")

    templates = (await session.list_resource_templates()).resource_templates
    expect("the order template", [t.uri_template for t in templates], ["shopfloor://orders/{number}"])
    contents = (await session.read_resource(f"shopfloor://orders/{number}")).contents
    expect("the order resource's status", json.loads(contents[0].text)["status"], "Production")

    digest = await call(session, "digest", {})
    print(json.dumps({"order": number, "receipt": receipt["id"], "digest": digest["digest"],
                      "operations": digest["operations"]}))


async def main(argv):
    read_only = "--read-only" in argv
    if argv[1] == "http":
        url, token = argv[2], argv[3]
        async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=30) as http:
            async with streamable_http_client(url, http_client=http) as streams:
                async with ClientSession(streams[0], streams[1]) as session:
                    await drive(session, read_only)
    else:
        db, shopfloor = argv[2], argv[3]
        arguments = ["--db", db, "mcp"] + (["--read-only"] if read_only else [])
        async with stdio_client(StdioServerParameters(command=shopfloor, args=arguments)) as (read, write):
            async with ClientSession(read, write) as session:
                await drive(session, read_only)


if __name__ == "__main__":
    try:
        asyncio.run(main(sys.argv))
    except Mismatch as mismatch:
        print(f"mismatch: {mismatch}", file=sys.stderr)
        sys.exit(1)
