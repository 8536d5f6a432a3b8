#!/usr/bin/env python3
"""A subscriber to Kombo.Worker's events, written from the docs alone: declare a durable queue, bind it to the
event exchanges, read the event under "message", and drop the rare duplicate by "messageId".

    apt-get install python3-pika   # or: pip install pika
    python3 docs/examples/subscriber.py [amqp://guest:guest@localhost:5672/%2F]

A real service keeps the ids it has processed in its own database, in the transaction that applies the event.
"""
import json
import sys

import pika

EVENTS = ["LinkCreated", "ConnectLinkFailed", "IntegrationConnected", "ConnectTokenRedemptionFailed",
          "ReconnectionLinkCreated", "ReconnectionLinkFailed", "IntegrationCreated", "IntegrationDeleted",
          "IntegrationStateChanged", "ConnectionFlowFailed"]

url = sys.argv[1] if len(sys.argv) > 1 else "amqp://guest:guest@localhost:5672/%2F"
channel = pika.BlockingConnection(pika.URLParameters(url)).channel()
channel.queue_declare(queue="my-service.kombo-events", durable=True)
for event in EVENTS:
    # The worker declares these fanout exchanges when it starts; declaring them again with the same settings is harmless.
    channel.exchange_declare(exchange=f"Kombo.Contracts:{event}", exchange_type="fanout", durable=True)
    channel.queue_bind(queue="my-service.kombo-events", exchange=f"Kombo.Contracts:{event}")

seen = set()  # stands in for the processed-ids table of a real service


def handle(ch, method, properties, body):
    envelope = json.loads(body)  # MassTransit's envelope: {"messageId", "correlationId", "messageType", "message", ...}
    event_type = method.exchange.split(":", 1)[1]
    if envelope["messageId"] in seen:
        print(f"duplicate {event_type} {envelope['messageId']} dropped")
    else:
        seen.add(envelope["messageId"])
        event = envelope["message"]
        print(f"{event_type}: {json.dumps({k: v for k, v in event.items() if k not in ('link',)})}")
    ch.basic_ack(method.delivery_tag)


channel.basic_qos(prefetch_count=32)
channel.basic_consume(queue="my-service.kombo-events", on_message_callback=handle)
print("waiting for events (Ctrl-C to stop)")
try:
    channel.start_consuming()
except KeyboardInterrupt:
    pass
