/*
 * Logging: stderr in the foreground (systemd's journal picks it up), syslog
 * otherwise.  Library callbacks of libxml2 and xmlsec are silenced: their
 * messages come back to us as verdicts, never as stray stderr noise.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <openssl/err.h>
#include <libxml/xmlerror.h>
#include <xmlsec/xmlsec.h>
#include <xmlsec/errors.h>

#include "extern.h"

int	log_verbose;
static int	log_foreground = 1;

void
log_init(int foreground, int verbose, const char *ident)
{
	log_foreground = foreground;
	log_verbose = verbose;
	if (!foreground)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

static void
vlog(int pri, const char *fmt, va_list ap, const char *suffix)
{
	char	 buf[2048];

	vsnprintf(buf, sizeof(buf), fmt, ap);
	if (log_foreground) {
		if (suffix != NULL)
			fprintf(stderr, "%s: %s\n", buf, suffix);
		else
			fprintf(stderr, "%s\n", buf);
		fflush(stderr);
	} else if (suffix != NULL)
		syslog(pri, "%s: %s", buf, suffix);
	else
		syslog(pri, "%s", buf);
}

void
log_warn(const char *fmt, ...)
{
	va_list	 ap;
	char	 e[128];

	/* strerror, not strerror_r: with _GNU_SOURCE the latter may leave e unset */
	snprintf(e, sizeof(e), "%s", strerror(errno));
	va_start(ap, fmt);
	vlog(LOG_WARNING, fmt, ap, e);
	va_end(ap);
}

void
log_warnx(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vlog(LOG_WARNING, fmt, ap, NULL);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vlog(LOG_INFO, fmt, ap, NULL);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list	 ap;

	if (log_verbose < 1)
		return;
	va_start(ap, fmt);
	vlog(LOG_DEBUG, fmt, ap, NULL);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list	 ap;
	char	 e[128];

	snprintf(e, sizeof(e), "%s", strerror(errno));
	va_start(ap, fmt);
	vlog(LOG_CRIT, fmt, ap, e);
	va_end(ap);
	exit(EXIT_INTERNAL);
}

void
fatalx(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vlog(LOG_CRIT, fmt, ap, NULL);
	va_end(ap);
	exit(EXIT_INTERNAL);
}

void
log_reject(const char *source, const struct verdict *v)
{
	log_warnx("source=%s reason=%s: %s", source, reason_code(v->reason), v->detail);
}

/*
 * Untrusted text (entity IDs, URLs, parser messages) is escaped so that a log
 * line stays one line of printable ASCII, and truncated with "...".
 */
char *
log_sanitize(const char *s, size_t len, char *buf, size_t bufsz)
{
	static const char hex[] = "0123456789abcdef";
	size_t	 i, o = 0;

	if (bufsz == 0)
		return buf;
	for (i = 0; i < len && s[i] != '\0'; i++) {
		unsigned char	 c = (unsigned char)s[i];
		size_t		 need = (c >= 0x20 && c < 0x7f && c != '\\') ? 1 : 4;

		/* keep room for "..." and the NUL */
		if (o + need + 4 > bufsz) {
			if (o + 4 <= bufsz) {
				memcpy(buf + o, "...", 3);
				o += 3;
			}
			break;
		}
		if (need == 1)
			buf[o++] = (char)c;
		else {
			buf[o++] = '\\';
			buf[o++] = 'x';
			buf[o++] = hex[c >> 4];
			buf[o++] = hex[c & 15];
		}
	}
	buf[o] = '\0';
	return buf;
}

void
log_openssl_errors(char *buf, size_t bufsz)
{
	unsigned long	 e;
	size_t		 o = 0;

	if (bufsz == 0)
		return;
	buf[0] = '\0';
	while ((e = ERR_get_error()) != 0) {
		char	 one[256];

		ERR_error_string_n(e, one, sizeof(one));
		if (o + strlen(one) + 3 < bufsz)
			o += (size_t)snprintf(buf + o, bufsz - o, "%s%s", o ? "; " : "", one);
	}
}

static void
xml_quiet(void *ctx, const char *msg, ...)
{
	(void)ctx;
	(void)msg;
}

static void
xmlsec_quiet(const char *file, int line, const char *func, const char *errorObject,
    const char *errorSubject, int reason, const char *msg)
{
	if (log_verbose >= 3)
		log_debug("xmlsec: %s: %s: %s", func ? func : "?",
		    errorSubject ? errorSubject : "?", msg ? msg : "");
}

void
log_silence_xml(void)
{
	xmlSetGenericErrorFunc(NULL, xml_quiet);
	xmlSecErrorsSetCallback(xmlsec_quiet);
}
