-- Running the scenario (R1: the MCU mixes "according to the scenario"): each
-- step an operator takes through a booked conference's agenda, in order. The
-- current item is the last step's; the time used on an item is the sum of the
-- stretches it was current. Rows are only inserted.
CREATE TABLE scenario_steps (
    id               {id},
    conference_id    TEXT NOT NULL REFERENCES conferences(id),
    at_ms            BIGINT NOT NULL,
    position         BIGINT NOT NULL,
    actor            TEXT NOT NULL
);
CREATE INDEX scenario_steps_by_conference ON scenario_steps (conference_id, id);
