/* Notifications as CloudEvents (see cloudevent.h). */
#include <inttypes.h>
#include <stdio.h>
#include <time.h>

#include "cloudevent.h"

const char *
cloudevent_type(Vix__V1__Notification__Type type)
{
	switch (type) {
	case VIX__V1__NOTIFICATION__TYPE__MATCH_CREATED:
		return "nl.vix.match.created";
	case VIX__V1__NOTIFICATION__TYPE__MATCH_JOINED:
		return "nl.vix.match.joined";
	case VIX__V1__NOTIFICATION__TYPE__MATCH_LEFT:
		return "nl.vix.match.left";
	case VIX__V1__NOTIFICATION__TYPE__MATCH_CLOSED:
		return "nl.vix.match.closed";
	case VIX__V1__NOTIFICATION__TYPE__COORDINATOR_ASSIGNED:
		return "nl.vix.match.coordinator-assigned";
	case VIX__V1__NOTIFICATION__TYPE__ESCALATION:
		return "nl.vix.match.escalated";
	case VIX__V1__NOTIFICATION__TYPE__SIGNAL_EXPIRED:
		return "nl.vix.signal.expired";
	case VIX__V1__NOTIFICATION__TYPE__SIGNAL_REMOVED:
		return "nl.vix.signal.removed";
	case VIX__V1__NOTIFICATION__TYPE__REMINDER:
		return "nl.vix.match.reminder";
	case VIX__V1__NOTIFICATION__TYPE__RELOCATED:
		return "nl.vix.match.relocated";
	case VIX__V1__NOTIFICATION__TYPE__RELOCATED_AWAY:
		return "nl.vix.match.relocated-away";
	case VIX__V1__NOTIFICATION__TYPE__FAMILY_MATCH:
		return "nl.vix.family.match";
	default:
		return NULL;
	}
}

void
cloudevent_id(const Vix__V1__Notification *n, char out[CLOUDEVENT_ID_MAX])
{
	snprintf(out, CLOUDEVENT_ID_MAX, "%s:%" PRIu64, n->recipient, n->seq);
}

static void
write_involvement(struct jsonw *w, const Vix__V1__Involvement *v)
{
	const Vix__V1__Contact *c = v->contact;

	jsonw_object(w);
	jsonw_kstr(w, "org_id", v->org_id);
	jsonw_kstr(w, "org_name", v->org_name);
	jsonw_key(w, "contact");
	jsonw_object(w);
	jsonw_kstr(w, "name", c != NULL ? c->name : "");
	jsonw_kstr(w, "phone", c != NULL ? c->phone : "");
	jsonw_kstr(w, "email", c != NULL ? c->email : "");
	jsonw_end(w);
	jsonw_kint(w, "since", v->since);
	jsonw_end(w);
}

/* The Notification's fields, in proto order, as `vix --json listen`. */
static void
write_data(struct jsonw *w, const Vix__V1__Notification *n, const char *type)
{
	jsonw_object(w);
	jsonw_kuint(w, "seq", n->seq);
	jsonw_kstr(w, "recipient", n->recipient);
	jsonw_kstr(w, "type", type);
	jsonw_kuint(w, "match_id", n->match_id);
	jsonw_kuint(w, "signal_id", n->signal_id);
	jsonw_kstr(w, "client_ref", n->client_ref);
	jsonw_key(w, "others");
	jsonw_array(w);
	for (size_t i = 0; i < n->n_others; i++)
		write_involvement(w, n->others[i]);
	jsonw_end(w);
	jsonw_key(w, "subject");
	if (n->subject != NULL)
		write_involvement(w, n->subject);
	else
		jsonw_null(w);
	jsonw_kstr(w, "coordinator", n->coordinator);
	jsonw_kstr(w, "coordinator_name", n->coordinator_name);
	jsonw_kbool(w, "coordinated", n->coordinated);
	jsonw_kint(w, "time", n->time);
	jsonw_kstr(w, "municipality", n->municipality);
	jsonw_kstr(w, "previous_municipality", n->previous_municipality);
	jsonw_kuint(w, "escalation_round", n->escalation_round);
	jsonw_kuint(w, "reminder", n->reminder);
	jsonw_kint(w, "escalates_at", n->escalates_at);
	jsonw_end(w);
}

int
cloudevent_write(struct jsonw *w, const Vix__V1__Notification *n,
    const char *index_oin)
{
	const char *type = cloudevent_type(n->type);
	const ProtobufCEnumValue *v;
	char id[CLOUDEVENT_ID_MAX], source[96], when[32];
	time_t t = (time_t)n->time;
	struct tm tm;

	if (type == NULL || gmtime_r(&t, &tm) == NULL)
		return -1;
	v = protobuf_c_enum_descriptor_get_value(
	    &vix__v1__notification__type__descriptor, (int)n->type);
	cloudevent_id(n, id);
	snprintf(source, sizeof(source), "urn:nld:oin:%s:systeem:vix",
	    index_oin);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	jsonw_object(w);
	jsonw_kstr(w, "specversion", "1.0");
	jsonw_kstr(w, "type", type);
	jsonw_kstr(w, "source", source);
	jsonw_kstr(w, "id", id);
	jsonw_kstr(w, "time", when);
	if (n->match_id != 0) {
		char subject[24];

		snprintf(subject, sizeof(subject), "%" PRIu64, n->match_id);
		jsonw_kstr(w, "subject", subject);
	}
	jsonw_kstr(w, "datacontenttype", "application/json");
	jsonw_key(w, "data");
	write_data(w, n, v != NULL ? v->name : type);
	jsonw_end(w);
	return jsonw_done(w);
}
