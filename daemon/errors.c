/* Error codes to protocol status codes. */
#include "errors.h"
#include "vix.pb-c.h"

int
err_to_status(int err)
{
	switch (err) {
	case VIX_E_OK:		return VIX__V1__STATUS__CODE__OK;
	case VIX_E_INVALID:	return VIX__V1__STATUS__CODE__INVALID_ARGUMENT;
	case VIX_E_NOT_FOUND:	return VIX__V1__STATUS__CODE__NOT_FOUND;
	case VIX_E_PERMISSION:	return VIX__V1__STATUS__CODE__PERMISSION_DENIED;
	case VIX_E_FULL:	return VIX__V1__STATUS__CODE__RESOURCE_EXHAUSTED;
	case VIX_E_LIMIT:	return VIX__V1__STATUS__CODE__RESOURCE_EXHAUSTED;
	case VIX_E_UNAVAILABLE:	return VIX__V1__STATUS__CODE__UNAVAILABLE;
	case VIX_E_CONFLICT:	return VIX__V1__STATUS__CODE__UNAVAILABLE;
	case VIX_E_PRECONDITION: return VIX__V1__STATUS__CODE__FAILED_PRECONDITION;
	default:		return VIX__V1__STATUS__CODE__INTERNAL;
	}
}

const char *
err_name(int err)
{
	switch (err) {
	case VIX_E_OK:		return "ok";
	case VIX_E_INVALID:	return "invalid_argument";
	case VIX_E_NOT_FOUND:	return "not_found";
	case VIX_E_PERMISSION:	return "permission_denied";
	case VIX_E_FULL:	return "resource_exhausted";
	case VIX_E_LIMIT:	return "daily_cap";
	case VIX_E_UNAVAILABLE:	return "unavailable";
	case VIX_E_CONFLICT:	return "conflict";
	case VIX_E_PRECONDITION: return "failed_precondition";
	default:		return "internal";
	}
}
