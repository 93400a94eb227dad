-- A visit's cancellation, kept: a visit.paid delivered after it (another producer, out of order) whose
-- payment happened before it (occurred_at <= the cancellation's) is given back as it is taken.
CREATE TABLE cancelled_visits (
    chain_id     text        NOT NULL,
    visit_id     text        NOT NULL,
    cancelled_at timestamptz NOT NULL,  -- the cancellation's occurred_at
    event        jsonb       NOT NULL,  -- the visit.cancelled event, to give back with
    PRIMARY KEY (chain_id, visit_id)
);
