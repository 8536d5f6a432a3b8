-- The trace context of the work that wrote each outbox row (W3C traceparent, tracestate and baggage), restored when the
-- relay publishes it, so that consume, Kombo call, commit and publish are one trace.
ALTER TABLE outbox
    ADD COLUMN trace_parent text NULL,
    ADD COLUMN trace_state  text NULL,
    ADD COLUMN baggage      text NULL;
