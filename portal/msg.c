/* The message table (msg.h). */
#include "msg.h"

static const char *const msg_table[MSG_COUNT][LANG_COUNT] = {
#define MSG_ROW(id, nl, en) [MSG_##id] = { nl, en },
	MSG_LIST(MSG_ROW)
#undef MSG_ROW
};

const char *
msg(enum portal_lang lang, enum msg m)
{
	if ((unsigned)lang >= LANG_COUNT || (unsigned)m >= MSG_COUNT)
		return "";
	return msg_table[m][lang];
}
