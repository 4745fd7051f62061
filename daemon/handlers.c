/* Request handlers: one function per request type. */
#include "handlers.h"
#include "vix_version.h"

static void
handle_ping(struct conn *c, const Vix__V1__Request *req)
{
	Vix__V1__ServerMessage msg = VIX__V1__SERVER_MESSAGE__INIT;
	Vix__V1__Response resp = VIX__V1__RESPONSE__INIT;
	Vix__V1__Status status = VIX__V1__STATUS__INIT;
	Vix__V1__PingReply reply = VIX__V1__PING_REPLY__INIT;
	Vix__V1__Organisation org = VIX__V1__ORGANISATION__INIT;

	org.id = (char *)c->org->id;
	org.name = (char *)c->org->name;
	org.oin = (char *)c->org->oin;
	reply.server_version = (char *)VIX_VERSION;
	reply.organisation = &org;
	status.code = VIX__V1__STATUS__CODE__OK;
	resp.id = req->id;
	resp.status = &status;
	resp.body_case = VIX__V1__RESPONSE__BODY_PING;
	resp.ping = &reply;
	msg.msg_case = VIX__V1__SERVER_MESSAGE__MSG_RESPONSE;
	msg.response = &resp;
	conn_send(c, &msg);
}

void
handlers_dispatch(struct conn *c, const Vix__V1__Request *req)
{
	switch (req->body_case) {
	case VIX__V1__REQUEST__BODY_PING:
		handle_ping(c, req);
		break;
	case VIX__V1__REQUEST__BODY__NOT_SET:
		if (req->base.n_unknown_fields > 0) {
			conn_respond_status(c, req->id,
			    VIX__V1__STATUS__CODE__UNIMPLEMENTED,
			    "request type not known to this server "
			    "(version %s)", VIX_VERSION);
			break;
		}
		conn_respond_status(c, req->id,
		    VIX__V1__STATUS__CODE__INVALID_ARGUMENT,
		    "request has no body (expected one of: ping)");
		break;
	default:
		conn_respond_status(c, req->id,
		    VIX__V1__STATUS__CODE__UNIMPLEMENTED,
		    "request type %d is not known to this server",
		    (int)req->body_case);
		break;
	}
}
