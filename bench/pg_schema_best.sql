-- The best-effort PostgreSQL peer of issue #16: the same registration as
-- bench/pg_schema.sql (signal upsert, match, one outbox row per recipient,
-- one audit record) in one transaction, built the way PostgreSQL does best:
-- no row every transaction locks until commit. Audit records and outbox
-- rows get their ids from sequences; their chain position and hash, and the
-- outbox rows' per-recipient seqs, are given afterwards by one follower
-- (follow() below, called in a loop by vix-bench --driver pg-best), which
-- also sends the notifications. Loaded by bench/pg_setup.sh into database
-- vixbest, after pg_schema_common.sql (signals, matches, register_signal()).

-- seq: dense per recipient, NULL until the follower gives it; a recipient
-- reads its rows by (recipient, seq) and sees only numbered ones.
CREATE TABLE outbox (
	id		bigserial	PRIMARY KEY,
	recipient	int		NOT NULL,
	seq		bigint,
	body		jsonb		NOT NULL
);
CREATE UNIQUE INDEX outbox_by_recipient ON outbox (recipient, seq);
CREATE INDEX outbox_unnumbered ON outbox (id) WHERE seq IS NULL;

-- The follower's alone: a recipient's last seq.
CREATE TABLE outbox_head (
	recipient	int		PRIMARY KEY,
	seq		bigint		NOT NULL
);

-- pos and hash: the record's place in the chain and the chain's hash up to
-- it, NULL until the follower chains the record.
CREATE TABLE audit (
	id		bigserial	PRIMARY KEY,
	time		timestamptz	NOT NULL,
	actor		int		NOT NULL,
	action		text		NOT NULL,
	signal_id	bigint,
	match_id	bigint,
	outcome		text		NOT NULL,
	pos		bigint,
	hash		bytea
);
CREATE INDEX audit_unchained ON audit (id) WHERE pos IS NULL;

-- The follower's alone: the chain's last position and hash.
CREATE TABLE audit_head (
	one		boolean		PRIMARY KEY DEFAULT true CHECK (one),
	pos		bigint		NOT NULL,
	hash		bytea		NOT NULL
);
INSERT INTO audit_head (pos, hash) VALUES (0, '\x'::bytea);

-- The text an audit record is hashed as: hash(pos) =
-- sha256(hash(pos - 1) || audit_record(...)), hash(0) empty.
CREATE FUNCTION audit_record(a audit) RETURNS text
LANGUAGE sql STABLE AS $$
	SELECT concat_ws('|', extract(epoch FROM a.time), a.actor, a.action,
	    a.signal_id, a.match_id, a.outcome)
$$;

-- Register or refresh org's signal on the youth with pseudonym p; match it
-- with the other active signals; queue one message per recipient when a
-- match is created or joined; append one audit record. Same arguments and
-- answer as pg_schema.sql's register().
CREATE FUNCTION register(p bytea, o int, c_name text, c_phone text,
    c_email text, ref text, exp timestamptz)
RETURNS TABLE (signal_id bigint, refreshed boolean, match_id bigint)
LANGUAGE plpgsql AS $$
DECLARE
	sid	bigint;
	fresh	boolean;
	others	int[];
	mid	bigint;
	act	text;
BEGIN
	SELECT * INTO sid, fresh, others, mid, act
	FROM register_signal(p, o, c_name, c_phone, c_email, ref, exp);

	IF act LIKE 'match-%' THEN
		-- Numbered and notified by the follower.
		INSERT INTO outbox (recipient, body)
		SELECT u, jsonb_build_object('match', mid, 'event', act,
		    'coordinator', least(o, others[1]), 'signal', sid,
		    'ref', ref)
		FROM unnest(others || o) u ORDER BY u;
	END IF;

	-- Chained by the follower.
	INSERT INTO audit (time, actor, action, signal_id, match_id, outcome)
	VALUES (now(), o, act, sid, mid, 'ok');

	RETURN QUERY SELECT sid, NOT fresh, mid;
END;
$$;

-- The follower: chain up to n audit records and number up to n outbox
-- rows that committed since the last call, in id order among them, and
-- NOTIFY channel "vix" with "recipient:match_id:client_ref" per numbered
-- row. A record whose transaction commits after a higher id was chained is
-- chained by a later call: the chain follows the order in which records
-- became visible to the follower, not the order of their ids, so no id is
-- ever waited for (a rolled-back transaction leaves a gap for good).
-- Returns the number of records and rows it did; 0: nothing was waiting.
CREATE FUNCTION follow(n int) RETURNS int
LANGUAGE plpgsql AS $$
DECLARE
	p	bigint;
	h	bytea;
	ids	bigint[] := '{}';
	ps	bigint[] := '{}';
	hs	bytea[] := '{}';
	r	record;
	numbered int;
BEGIN
	-- One follower at a time.
	PERFORM pg_advisory_xact_lock(7669780000000016);
	SELECT x.pos, x.hash INTO p, h FROM audit_head x;
	FOR r IN SELECT a.id, audit_record(a) AS rec FROM audit a
	    WHERE a.pos IS NULL ORDER BY a.id LIMIT n LOOP
		p := p + 1;
		h := sha256(h || convert_to(r.rec, 'UTF8'));
		ids := ids || r.id;
		ps := ps || p;
		hs := hs || h;
	END LOOP;
	IF cardinality(ids) > 0 THEN
		UPDATE audit a SET pos = u.pos, hash = u.hash
		FROM unnest(ids, ps, hs) AS u(id, pos, hash)
		WHERE a.id = u.id;
		UPDATE audit_head SET pos = p, hash = h;
	END IF;

	-- Each recipient's new rows get the seqs after its head, in id order.
	WITH batch AS (
		SELECT b.id, b.recipient,
		    row_number() OVER (PARTITION BY b.recipient
			ORDER BY b.id) AS k,
		    count(*) OVER (PARTITION BY b.recipient) AS cnt
		FROM (SELECT x.id, x.recipient FROM outbox x
		    WHERE x.seq IS NULL ORDER BY x.id LIMIT n) b
	), heads AS (
		INSERT INTO outbox_head AS q (recipient, seq)
		SELECT b.recipient, count(*) FROM batch b GROUP BY b.recipient
		ON CONFLICT (recipient) DO UPDATE SET seq = q.seq + EXCLUDED.seq
		RETURNING q.recipient, q.seq
	), done AS (
		UPDATE outbox x SET seq = q.seq - b.cnt + b.k
		FROM batch b JOIN heads q ON q.recipient = b.recipient
		WHERE x.id = b.id
		RETURNING x.recipient, x.body
	)
	SELECT count(pg_notify('vix', d.recipient || ':' ||
	    (d.body->>'match') || ':' || coalesce(d.body->>'ref', '')))
	INTO numbered FROM done d;

	RETURN cardinality(ids) + numbered;
END;
$$;
