-- Phones are stored in E.164 (shared/phones.py). Those stored before (digits, a national form kept as given:
-- "06201234567") are rewritten by the `phones` job, which needs the region of each one's location (a
-- setting, in Python); this index holds only the rows still to look at, so the job's scan stays empty-cheap
-- once they are done. A phone that is no number stays as it is, marked (membership_marks) and not read again.
CREATE INDEX memberships_phone_not_e164 ON memberships (chain_id, id)
    WHERE phone IS NOT NULL AND phone !~ '^\+[1-9][0-9]{4,14}$';
