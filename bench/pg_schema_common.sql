-- What both PostgreSQL peers share (bench/pg_schema.sql, strict chain, and
-- bench/pg_schema_best.sql, best effort): the signals and matches and the
-- first half of a registration. Loaded by bench/pg_setup.sh before either.

CREATE TABLE signals (
	pseudonym	bytea		NOT NULL,
	org		int		NOT NULL,
	id		bigserial	NOT NULL UNIQUE,
	created		timestamptz	NOT NULL,
	updated		timestamptz	NOT NULL,
	expires		timestamptz	NOT NULL,
	contact_name	text,
	contact_phone	text,
	contact_email	text,
	client_ref	text,
	PRIMARY KEY (pseudonym, org)
);

CREATE TABLE matches (
	pseudonym	bytea		PRIMARY KEY,
	id		bigserial	NOT NULL UNIQUE,
	coordinator	int		NOT NULL,
	created		timestamptz	NOT NULL
);

-- Register or refresh org o's signal on the youth with pseudonym p and
-- match it with the other active signals: sid and fresh (a new signal)
-- for it, others (the other organisations, ascending), and when there are
-- any, the match mid; act is what the audit record says, "match-created"
-- or "match-joined" when the recipients (others and o) are to be told.
-- Locks the youth, not more, until commit.
CREATE FUNCTION register_signal(p bytea, o int, c_name text, c_phone text,
    c_email text, ref text, exp timestamptz, OUT sid bigint,
    OUT fresh boolean, OUT others int[], OUT mid bigint, OUT act text)
LANGUAGE plpgsql AS $$
DECLARE
	mnew	boolean;
BEGIN
	-- One registration per youth at a time, as vixd's single writer
	-- guarantees; otherwise two orgs arriving together miss each other.
	PERFORM pg_advisory_xact_lock(
	    ('x' || encode(substr(p, 1, 8), 'hex'))::bit(64)::bigint);

	INSERT INTO signals AS t (pseudonym, org, created, updated, expires,
	    contact_name, contact_phone, contact_email, client_ref)
	VALUES (p, o, now(), now(), exp, c_name, c_phone, c_email, ref)
	ON CONFLICT (pseudonym, org) DO UPDATE SET
	    updated = now(),
	    created = CASE WHEN t.expires <= now() THEN now()
		ELSE t.created END,
	    expires = EXCLUDED.expires,
	    contact_name = EXCLUDED.contact_name,
	    contact_phone = EXCLUDED.contact_phone,
	    contact_email = EXCLUDED.contact_email,
	    client_ref = EXCLUDED.client_ref
	RETURNING t.id, (t.xmax = 0) INTO sid, fresh;

	SELECT array_agg(x.org ORDER BY x.org) INTO others
	FROM signals x
	WHERE x.pseudonym = p AND x.org <> o AND x.expires > now();

	act := CASE WHEN fresh THEN 'register' ELSE 'refresh' END;
	IF others IS NOT NULL THEN
		INSERT INTO matches AS m (pseudonym, coordinator, created)
		VALUES (p, least(o, others[1]), now())
		ON CONFLICT (pseudonym) DO UPDATE SET
		    coordinator = least(m.coordinator, EXCLUDED.coordinator)
		RETURNING m.id, (m.xmax = 0) INTO mid, mnew;
		IF fresh THEN
			act := CASE WHEN mnew THEN 'match-created'
			    ELSE 'match-joined' END;
		END IF;
	END IF;
END;
$$;
