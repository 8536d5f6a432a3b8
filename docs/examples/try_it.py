#!/usr/bin/env python3
"""The whole Connect journey against `scripts/run.sh` (RabbitMQ on localhost:5672, the emulator on :5080).

Needs pika: `apt-get install python3-pika` (Debian) or `pip install pika`. Run: `python3 docs/examples/try_it.py`.
Each step prints what it sent and the event that answered it.
"""
import json
import time
import urllib.request
import uuid

import pika

AMQP = pika.URLParameters("amqp://guest:guest@localhost:5672/%2F")
EMULATOR = "http://127.0.0.1:5080"
EVENTS = ["LinkCreated", "ConnectLinkFailed", "IntegrationConnected", "ConnectTokenRedemptionFailed",
          "IntegrationCreated", "IntegrationDeleted", "IntegrationStateChanged", "ConnectionFlowFailed",
          "ReconnectionLinkCreated", "ReconnectionLinkFailed"]

connection = pika.BlockingConnection(AMQP)
channel = connection.channel()
# A queue of our own, bound to the exchange of every event type (the worker declares them when it starts).
queue = channel.queue_declare(queue="", exclusive=True).method.queue
for event in EVENTS:
    channel.queue_bind(queue=queue, exchange=f"Kombo.Contracts:{event}")


def send(queue_name, command):
    """A plain JSON command, as any language can publish it: the body is the command, the message id dedupes it."""
    channel.basic_publish(exchange=queue_name, routing_key="", body=json.dumps(command),
                          properties=pika.BasicProperties(content_type="application/json", delivery_mode=2,
                                                          message_id=str(uuid.uuid4())))


received = []  # every event read so far, so that one arriving before the step that waits for it is not lost


def wait_for(event_type, match=lambda message: True, timeout=30):
    """The first event of that type not waited for yet (MassTransit's envelope: the event itself is under "message")."""
    deadline = time.monotonic() + timeout
    while True:
        for entry in received:
            exchange, message = entry
            if exchange == f"Kombo.Contracts:{event_type}" and match(message):
                received.remove(entry)
                shown = {k: ("<redacted>" if k in ("link", "token") else v) for k, v in message.items()}
                print(f"  <- {event_type}: {json.dumps(shown)[:160]}")
                return message
        if time.monotonic() > deadline:
            raise TimeoutError(f"no {event_type} within {timeout} s")
        method, properties, body = channel.basic_get(queue=queue, auto_ack=True)
        if method is None:
            time.sleep(0.1)
        else:
            received.append((method.exchange, json.loads(body)["message"]))


def emulator(method, path, body=None):
    """The emulator's admin API plays the end user: completing, failing, deleting."""
    request = urllib.request.Request(EMULATOR + path, method=method, data=None if body is None else json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request) as response:
        text = response.read()
        return json.loads(text) if text else None


def create_link(origin_id, link_type):
    correlation_id = str(uuid.uuid4())
    print(f"-> CreateConnectLink for {origin_id} ({link_type})")
    send("create-connect-link", {"correlationId": correlation_id, "endUserEmail": "admin@acme.example",
                                 "endUserOrganizationName": "Acme, Inc.", "endUserOriginId": origin_id,
                                 "integrationTool": "personio", "linkType": link_type})
    return wait_for("LinkCreated", lambda m: m["correlationId"] == correlation_id)["link"]


customer = f"customer-{uuid.uuid4().hex[:8]}"

print("1. An embedded link: the end user finishes the flow, the frontend gets a token, the backend redeems it.")
link = create_link(customer, "EMBEDDED")
completed = emulator("POST", "/emulator/links/complete", {"link": link})
print("-> RedeemConnectToken")
send("redeem-connect-token", {"correlationId": str(uuid.uuid4()), "token": completed["token"],
                              "expectedEndUserOriginId": customer})
connected = wait_for("IntegrationConnected")
wait_for("IntegrationCreated", lambda m: m["integrationId"] == connected["integrationId"])

print("2. A magic link, finished away from the app: only Kombo's webhook tells.")
magic = emulator("POST", "/emulator/links/complete", {"link": create_link(customer + "-magic", "MAGIC_LINK")})
wait_for("IntegrationCreated", lambda m: m["integrationId"] == magic["integration_id"])

print("3. The credentials stop working: Kombo reports INVALID, the backend asks for a reconnection link.")
emulator("POST", f"/emulator/integrations/{connected['integrationId']}/state", {"state": "INVALID"})
wait_for("IntegrationStateChanged", lambda m: m["state"] == "INVALID")
print("-> CreateReconnectionLink")
send("create-reconnection-link", {"correlationId": str(uuid.uuid4()), "integrationId": connected["integrationId"]})
relink = wait_for("ReconnectionLinkCreated")
emulator("POST", "/emulator/links/complete", {"link": relink["link"]})
wait_for("IntegrationStateChanged", lambda m: m["state"] == "ACTIVE")

print("4. The integration is deleted in Kombo's dashboard: the worker forgets it.")
emulator("DELETE", f"/emulator/integrations/{connected['integrationId']}")
wait_for("IntegrationDeleted", lambda m: m["integrationId"] == connected["integrationId"])
create_link(customer, "EMBEDDED")
print("Done: every step was answered.")
connection.close()
