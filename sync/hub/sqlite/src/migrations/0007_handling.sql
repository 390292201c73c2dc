-- Schema version 7: the hops of an event's handling between the levels and departments
-- (上报上级, 退回, 派遣至部门). The last hop of an event is its holder.
CREATE TABLE event_hop (
    event_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    department_id TEXT,
    record TEXT NOT NULL,
    PRIMARY KEY (event_id, seq)
);
CREATE INDEX event_hop_by_department ON event_hop (department_id);
