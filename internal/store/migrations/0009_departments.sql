-- Department extensions (identity.Extension of type Department) and their members, and
-- whether a sent pager message went to a department (messaging.Message.ToDepartment).
ALTER TABLE extensions ADD COLUMN type TEXT NOT NULL DEFAULT 'User';  -- User | Department

CREATE TABLE department_members (
    department_id INTEGER NOT NULL REFERENCES extensions (id) ON DELETE CASCADE,
    member_id     INTEGER NOT NULL REFERENCES extensions (id) ON DELETE CASCADE,
    PRIMARY KEY (department_id, member_id)
);
-- the departments of a member
CREATE INDEX department_members_member ON department_members (member_id);

ALTER TABLE messages ADD COLUMN pg_to_department INTEGER NOT NULL DEFAULT 0;  -- 1: a pager message to a department
