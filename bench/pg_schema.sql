-- The peer for issue #6: vixd's registration as one PL/pgSQL call in one
-- transaction, so PostgreSQL does the same durable work per request.
-- Loaded by bench/pg_setup.sh into an empty database, after
-- pg_schema_common.sql (signals, matches, register_signal()).

CREATE TABLE outbox_seq (
	recipient	int		PRIMARY KEY,
	seq		bigint		NOT NULL
);

CREATE TABLE outbox (
	recipient	int		NOT NULL,
	seq		bigint		NOT NULL,
	body		jsonb		NOT NULL,
	PRIMARY KEY (recipient, seq)
);

CREATE TABLE audit (
	seq		bigserial	PRIMARY KEY,
	time		timestamptz	NOT NULL,
	actor		int		NOT NULL,
	action		text		NOT NULL,
	signal_id	bigint,
	match_id	bigint,
	outcome		text		NOT NULL,
	hash		bytea		NOT NULL
);

-- The chain's head: one row, locked by each writer, like vixd's single
-- audit chain.
CREATE TABLE audit_head (
	one		boolean		PRIMARY KEY DEFAULT true CHECK (one),
	hash		bytea		NOT NULL
);
INSERT INTO audit_head (hash) VALUES ('\x'::bytea);

-- Register or refresh org's signal on the youth with pseudonym p; match it
-- with the other active signals; queue and NOTIFY one message per recipient
-- when a match is created or joined; append one hash-chained audit record.
-- Notifications go to channel "vix" with payload
-- "recipient:match_id:client_ref" so one listener sees every recipient.
CREATE FUNCTION register(p bytea, o int, c_name text, c_phone text,
    c_email text, ref text, exp timestamptz)
RETURNS TABLE (signal_id bigint, refreshed boolean, match_id bigint)
LANGUAGE plpgsql AS $$
DECLARE
	sid	bigint;
	fresh	boolean;
	others	int[];
	mid	bigint;
	r	int;
	s	bigint;
	act	text;
	prev	bytea;
	rec	text;
BEGIN
	SELECT * INTO sid, fresh, others, mid, act
	FROM register_signal(p, o, c_name, c_phone, c_email, ref, exp);

	IF act LIKE 'match-%' THEN
		-- Ascending recipients: seq row locks in one order.
		FOREACH r IN ARRAY (SELECT array_agg(u ORDER BY u)
		    FROM unnest(others || o) u) LOOP
			INSERT INTO outbox_seq AS q (recipient, seq)
			VALUES (r, 1)
			ON CONFLICT (recipient) DO UPDATE
			    SET seq = q.seq + 1
			RETURNING q.seq INTO s;
			INSERT INTO outbox (recipient, seq, body)
			VALUES (r, s, jsonb_build_object(
			    'match', mid, 'event', act,
			    'coordinator', least(o, others[1]),
			    'signal', sid));
			PERFORM pg_notify('vix',
			    r || ':' || mid || ':' || coalesce(ref, ''));
		END LOOP;
	END IF;

	-- Last, so the chain head is locked for as short a time as possible.
	SELECT h.hash INTO prev FROM audit_head h FOR UPDATE;
	rec := concat_ws('|', now(), o, act, sid, mid, 'ok');
	prev := sha256(prev || convert_to(rec, 'UTF8'));
	INSERT INTO audit (time, actor, action, signal_id, match_id, outcome,
	    hash)
	VALUES (now(), o, act, sid, mid, 'ok', prev);
	UPDATE audit_head SET hash = prev;

	RETURN QUERY SELECT sid, NOT fresh, mid;
END;
$$;
