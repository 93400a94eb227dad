-- Freezing, the client's name (for notices), automatic deduction policies, and marks that make the
-- time-driven notices idempotent.
ALTER TABLE memberships
    ADD COLUMN client_name      text,
    ADD COLUMN frozen_from      date,
    ADD COLUMN frozen_until     date,
    ADD COLUMN freeze_days_used integer NOT NULL DEFAULT 0;
CREATE INDEX memberships_status ON memberships (chain_id, status);

CREATE TABLE deduction_policies (
    chain_id    text        NOT NULL,
    location_id text        NOT NULL,
    policy      jsonb       NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (chain_id, location_id)
);

-- "This membership was told X already": e.g. expiring:valid_until:<valid_until>, so a notice is
-- published once per state, however often the job runs.
CREATE TABLE membership_marks (
    chain_id      text        NOT NULL,
    membership_id uuid        NOT NULL REFERENCES memberships (id),
    mark          text        NOT NULL,
    at            timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (membership_id, mark)
);
