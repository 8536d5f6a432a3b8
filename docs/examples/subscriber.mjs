// A subscriber to Kombo.Worker's events in Node, written from the docs alone: a durable queue bound to the event
// exchanges, the event read from "message", duplicates dropped by "messageId".
//
//   npm install amqplib
//   node docs/examples/subscriber.mjs [amqp://guest:guest@localhost:5672]
//
// A real service keeps the ids it has processed in its own database, in the transaction that applies the event.
import amqp from "amqplib";

const events = ["LinkCreated", "ConnectLinkFailed", "IntegrationConnected", "ConnectTokenRedemptionFailed",
  "ReconnectionLinkCreated", "ReconnectionLinkFailed", "IntegrationCreated", "IntegrationDeleted",
  "IntegrationStateChanged", "ConnectionFlowFailed"];
const queue = "my-service.kombo-events";

const connection = await amqp.connect(process.argv[2] ?? "amqp://guest:guest@localhost:5672");
const channel = await connection.createChannel();
await channel.assertQueue(queue, { durable: true });
for (const event of events) {
  // The worker declares these fanout exchanges when it starts; asserting them again with the same settings is harmless.
  await channel.assertExchange(`Kombo.Contracts:${event}`, "fanout", { durable: true });
  await channel.bindQueue(queue, `Kombo.Contracts:${event}`, "");
}

const seen = new Set(); // stands in for the processed-ids table of a real service
await channel.prefetch(32);
await channel.consume(queue, (delivery) => {
  const envelope = JSON.parse(delivery.content.toString("utf8")); // MassTransit's envelope
  const type = delivery.fields.exchange.split(":")[1];
  if (seen.has(envelope.messageId)) {
    console.log(`duplicate ${type} ${envelope.messageId} dropped`);
  } else {
    seen.add(envelope.messageId);
    const { link, ...shown } = envelope.message;
    console.log(`${type}: ${JSON.stringify(shown)}`);
  }
  channel.ack(delivery);
});
console.log("waiting for events (Ctrl-C to stop)");
