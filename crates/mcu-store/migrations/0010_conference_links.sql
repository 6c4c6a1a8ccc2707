-- Cascade links taking part in a conference (R7): the neighbour MCUs whose
-- link this conference opens (its parent, which brings the parent's standby
-- with it) or accepts (its children). A conference names none by default: it
-- is local to this MCU until an operator names its links.
-- `remote_conference` is, for the link up, the id of the counterpart
-- conference on the parent MCU (NULL: the same id as here); a booked
-- conference on a province (`booking-12`) joins the master's (`booking-40`).
CREATE TABLE conference_links (
    conference_id      TEXT NOT NULL REFERENCES conferences(id) ON DELETE CASCADE,
    mcu_id             TEXT NOT NULL,
    remote_conference  TEXT,
    PRIMARY KEY (conference_id, mcu_id)
);
