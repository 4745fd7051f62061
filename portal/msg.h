/*
 * The portal's words: every text a page shows, in Dutch (the default) and
 * English, from one table, so that a page never mixes in a literal.
 */
#ifndef VIX_PORTAL_MSG_H
#define VIX_PORTAL_MSG_H

#include "portal.h"

#define MSG_LIST(X) \
	X(LANG_CODE, "nl", "en") \
	X(OTHER_LANG, "English", "Nederlands") \
	X(OTHER_LANG_CODE, "en", "nl") \
	X(PORTAL, "Verwijsindex", "Reference index") \
	X(SKIP, "Naar de inhoud", "Skip to content") \
	X(NAV, "Hoofdmenu", "Main menu") \
	X(REGISTER, "Signaal afgeven", "Register a signal") \
	X(SIGNALS, "Mijn signalen", "My signals") \
	X(MATCHES, "Matches", "Matches") \
	X(WORKLIST, "Werkvoorraad", "Worklist") \
	X(NOTES, "Meldingen", "Notifications") \
	X(LOGIN, "Inloggen", "Log in") \
	X(LOGOUT, "Uitloggen", "Log out") \
	X(USER, "Gebruiker", "User") \
	X(ROLE_PROFESSIONAL, "professional", "professional") \
	X(ROLE_COORDINATOR, "coördinator", "coordinator") \
	X(BSN, "BSN van de jongere", "The youth's BSN") \
	X(BSN_HINT, "9 cijfers. Wordt na verzenden niet meer getoond.", \
	    "9 digits. Not shown again once sent.") \
	X(BIRTH, "Geboortedatum", "Date of birth") \
	X(BIRTH_HINT, "JJJJ-MM-DD", "YYYY-MM-DD") \
	X(DURATION, "Duur van het signaal", "Duration of the signal") \
	X(DURATION_MAX, "Maximaal (2 jaar)", "Maximum (2 years)") \
	X(DAYS, "dagen", "days") \
	X(CONTACT_NAME, "Naam contactpersoon", "Contact name") \
	X(CONTACT_PHONE, "Telefoon contactpersoon", "Contact phone") \
	X(CONTACT_EMAIL, "E-mail contactpersoon (optioneel)", \
	    "Contact e-mail (optional)") \
	X(REFERENCE, "Eigen kenmerk (optioneel)", "Your reference (optional)") \
	X(REFERENCE_HINT, "Bijvoorbeeld uw dossiernummer; nooit een BSN.", \
	    "For example your file number; never a BSN.") \
	X(SUBMIT_REGISTER, "Signaal afgeven", "Register signal") \
	X(REQUIRED, "Vul dit veld in.", "Fill in this field.") \
	X(BSN_BAD_LENGTH, "Een BSN heeft precies 9 cijfers.", \
	    "A BSN has exactly 9 digits.") \
	X(BSN_BAD_DIGITS, "Een BSN bestaat alleen uit cijfers.", \
	    "A BSN consists of digits only.") \
	X(BSN_BAD_CHECK, "Dit is geen geldig BSN (het voldoet niet aan de " \
	    "elfproef).", "This is not a valid BSN (it fails the 11-test).") \
	X(DATE_BAD, "Geef een bestaande datum als JJJJ-MM-DD.", \
	    "Give a real date as YYYY-MM-DD.") \
	X(DURATION_BAD, "Kies een duur uit de lijst.", \
	    "Choose a duration from the list.") \
	X(FORM_ERRORS, "Het formulier is niet verzonden: verbeter de " \
	    "gemarkeerde velden.", "The form was not sent: correct the " \
	    "marked fields.") \
	X(REGISTERED_NEW, "Signaal afgegeven.", "Signal registered.") \
	X(REGISTERED_REFRESH, "Uw bestaande signaal op deze jongere is " \
	    "vernieuwd.", "Your existing signal on this youth was refreshed.") \
	X(EXPIRES, "Verloopt op", "Expires on") \
	X(BOUND_AGE, "(leeftijdsgrens)", "(age limit)") \
	X(BOUND_DURATION, "(gekozen duur)", "(chosen duration)") \
	X(MATCH_FOUND, "Andere organisaties zijn betrokken bij deze jongere:", \
	    "Other organisations are involved with this youth:") \
	X(NO_MATCH, "Nog geen andere organisaties betrokken.", \
	    "No other organisation is involved yet.") \
	X(SIGNAL, "Signaal", "Signal") \
	X(CREATED, "Afgegeven", "Registered") \
	X(MATCH, "Match", "Match") \
	X(NONE, "geen", "none") \
	X(WITHDRAW, "Intrekken", "Withdraw") \
	X(REASON, "Reden van intrekken", "Reason for withdrawal") \
	X(RISK_RESOLVED, "Risico weggenomen (archiveren)", \
	    "Risk resolved (archive)") \
	X(UNJUSTIFIED, "Onterecht afgegeven (verwijderen)", \
	    "Unjustified (delete)") \
	X(WITHDRAWN_ARCHIVED, "Signaal ingetrokken en gearchiveerd.", \
	    "Signal withdrawn and archived.") \
	X(WITHDRAWN_DELETED, "Signaal ingetrokken en verwijderd.", \
	    "Signal withdrawn and deleted.") \
	X(NO_SIGNALS, "Geen actieve signalen.", "No active signals.") \
	X(NEXT_PAGE, "Volgende pagina", "Next page") \
	X(FIRST_PAGE, "Eerste pagina", "First page") \
	X(OTHERS, "Andere betrokkenen", "Others involved") \
	X(COORDINATOR, "Regievoerder", "Coordinator") \
	X(STATE, "Status", "State") \
	X(AGE, "Leeftijd", "Age") \
	X(COORDINATED, "afgestemd", "coordinated") \
	X(UNCOORDINATED, "niet afgestemd", "not coordinated") \
	X(ESCALATED, "geëscaleerd", "escalated") \
	X(ACTIONS, "Acties", "Actions") \
	X(CLAIM, "Regie nemen", "Claim") \
	X(RELEASE, "Regie overdragen", "Release") \
	X(MARK, "Markeren als afgestemd", "Mark coordinated") \
	X(US, "wij", "us") \
	X(NO_MATCHES, "Geen matches.", "No matches.") \
	X(COORD_DONE, "Regie van de match bijgewerkt.", \
	    "Coordination of the match updated.") \
	X(WL_UNCOORD, "Niet afgestemd", "Not coordinated") \
	X(WL_ESCALATED, "Geëscaleerd", "Escalated") \
	X(WL_EXPIRING, "Signalen die binnen 30 dagen verlopen", \
	    "Signals expiring within 30 days") \
	X(TYPE, "Soort", "Type") \
	X(TIME, "Tijd", "Time") \
	X(NO_NOTES, "Geen meldingen.", "No notifications.") \
	X(NOTES_INTRO, "De laatste meldingen van de verwijsindex aan uw " \
	    "organisatie, de nieuwste eerst.", "The latest notifications " \
	    "of the reference index to your organisation, newest first.") \
	X(LOGIN_INTRO, "Ontwikkelmodus: kies een testgebruiker.", \
	    "Development mode: choose a test user.") \
	X(LOGIN_SSO, "U logt in via de inlogvoorziening van uw organisatie.", \
	    "You log in through your organisation's sign-on.") \
	X(EXPIRED, "Uw sessie is verlopen; log opnieuw in.", \
	    "Your session has expired; please log in again.") \
	X(FORBIDDEN, "Geweigerd", "Refused") \
	X(CSRF, "Dit formulier is verlopen of komt niet van dit portaal " \
	    "(CSRF-token ontbreekt of klopt niet). Laad de pagina opnieuw " \
	    "en probeer het nog eens.", "This form has expired or did not " \
	    "come from this portal (its CSRF token is missing or wrong). " \
	    "Reload the page and try again.") \
	X(NOT_PROXY, "Verzoeken worden alleen aangenomen via de proxy van " \
	    "de organisatie.", "Requests are only accepted through the " \
	    "organisation's proxy.") \
	X(NO_USER, "De proxy gaf geen geldige gebruiker door.", \
	    "The proxy passed no valid user.") \
	X(NOT_FOUND, "Pagina niet gevonden", "Page not found") \
	X(COORD_ONLY, "Alleen voor coördinatoren.", "For coordinators only.") \
	X(INDEX_DOWN, "De verwijsindex is niet bereikbaar; probeer het later " \
	    "opnieuw.", "The reference index cannot be reached; try again " \
	    "later.") \
	X(INDEX_REFUSED, "De verwijsindex weigerde:", \
	    "The reference index refused:") \
	X(BAD_REQUEST, "Ongeldig verzoek", "Bad request") \
	X(ORG, "Organisatie", "Organisation") \
	X(CONTACT, "Contactpersoon", "Contact") \
	X(SINCE, "Sinds", "Since") \
	X(REF_SHORT, "Kenmerk", "Reference") \
	X(ESCALATIONS, "escalaties", "escalations") \
	X(MATCH_CREATED, "Nieuwe match", "New match") \
	X(MATCH_JOINED, "Organisatie bijgekomen", "Organisation joined") \
	X(MATCH_LEFT, "Organisatie vertrokken", "Organisation left") \
	X(MATCH_CLOSED, "Match gesloten", "Match closed") \
	X(COORDINATOR_ASSIGNED, "Regie gewijzigd", "Coordination changed") \
	X(ESCALATION, "Escalatie", "Escalation") \
	X(SIGNAL_EXPIRED, "Signaal verlopen", "Signal expired") \
	X(SIGNAL_REMOVED, "Signaal verwijderd", "Signal removed") \
	X(REMINDER, "Herinnering", "Reminder") \
	X(RELOCATED, "Jongere verhuisd", "Youth relocated") \
	X(OTHER_TYPE, "Andere melding", "Other notification")

enum msg {
#define MSG_ENUM(id, nl, en) MSG_##id,
	MSG_LIST(MSG_ENUM)
#undef MSG_ENUM
	MSG_COUNT
};

/* The text of m in lang. */
const char	*msg(enum portal_lang lang, enum msg m);

#endif
