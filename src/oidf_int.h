/*
 * Internals of the OpenID Federation resolver, shared by oidf.c (entry,
 * fetching, trust anchor), oidf_graph.c (discovery, authority graph, link
 * verification), oidf_chain.c (chains, constraints, metadata), oidf_tm.c
 * (trust marks) and oidf_leaf.c (protocol keys, entities).  Include after
 * extern.h; nothing outside oidf*.c uses it.  See docs/oidf.md.
 */
#ifndef FEDTRUST_OIDF_INT_H
#define FEDTRUST_OIDF_INT_H

#include <jansson.h>

/* The OpenID Federation entity types a source can want. */
#define OIDF_ROLES	(ROLE_OP | ROLE_RP | ROLE_OAUTH_AS | ROLE_OAUTH_CLIENT | ROLE_OAUTH_RS)

/* One URL of a resolution: fetched at most once, the body kept to the end. */
struct ofetch {
	char		*url;
	size_t		 max;		/* body cap */
	int		 ok;
	long		 status;	/* HTTP status, 0 when not fetched */
	char		*body;		/* NUL-terminated (the NUL not counted) */
	size_t		 bodysz;
	struct verdict	 v;		/* why, when !ok */
};

/* One superior of a node: the subordinate statement it issued about the node. */
struct olink {
	size_t		 sup;		/* node index of the superior */
	int		 state;		/* 0 untried, 1 verified, -1 failed (v) */
	int		 parsed;	/* ss holds a parsed statement (freed at the end) */
	struct oidf_stmt ss;
	struct verdict	 v;
};

#define ONODE_LEAF	0x01	/* resolved as a leaf (discovered or configured) */
#define ONODE_STATIC	0x02	/* configured with entity = ID */
#define ONODE_INTER	0x04	/* publishes a list endpoint: walked, not resolved */
#define ONODE_TMI	0x08	/* issuer of a trust mark carried by a leaf */

/* One entity of the authority graph (node 0 is the trust anchor). */
struct onode {
	char		*id;
	unsigned	 kind;		/* ONODE_* */
	int		 ec_state;	/* 0 not loaded, 1 valid, -1 failed (ecv) */
	int		 ec_parsed;	/* ec holds a parsed statement (freed at the end) */
	struct oidf_stmt ec;
	struct verdict	 ecv;
	struct olink	*ups;		/* superiors seen (authority_hints or list endpoints) */
	size_t		 upsz;
	long		 best;		/* ups index of its first verified link, -1 none */
	size_t		 plen;		/* subordinate statements from this node up to the TA */
	int		 explored;	/* authority_hints followed */
	int		 listed;	/* list endpoint walked */
	int		 truncated;	/* a hint, superior or depth limit cut its graph */
	int		 tmi_state;	/* trust mark issuer: 0 unchecked, 1 valid, -1 not (tmiv) */
	struct verdict	 tmiv;
	unsigned	 mark;		/* == ores.gen: queued in the current walk */
	char		*disp;		/* id made printable, for messages */
};

/* A candidate link: node and index into its ups. */
struct olref {
	size_t		 node;
	size_t		 link;
};

/* One resolution. */
struct ores {
	const struct oidf_opts	*o;
	const struct oidf_fetcher *f;
	time_t			 now;
	struct entity_set	*out;
	unsigned		 roles;		/* ROLE_* of the wanted entity types */
	json_t			*fidx;		/* url -> index into fs */
	struct ofetch		*fs;
	size_t			 fsz;
	size_t			 fnext;		/* fs[fnext..fsz) not fetched yet */
	size_t			 fetches;	/* URLs handed to the fetcher */
	size_t			 budget;
	json_t			*nidx;		/* entity id -> index into nodes */
	struct onode		*nodes;
	size_t			 nodesz;
	size_t			*leaves;	/* node indexes, in discovery order */
	size_t			 leafsz;
	unsigned		 gen;		/* walk generation (onode.mark) */
	size_t			 tmisz;		/* trust mark issuers explored */
	const json_t		*tm_issuers;	/* the TA's trust_mark_issuers, or NULL */
	const json_t		*tm_owners;	/* the TA's trust_mark_owners, or NULL */
};

/*
 * A chain ES[0..n) as indexes (node storage moves while the graph grows):
 * ES[0] is node[0]'s configuration, ES[j] (j > 0) the statement node[j]
 * issued about node[j - 1], node[j - 1].ups[link[j]]; node[n - 1] is the TA.
 */
struct ochain {
	size_t			 n;
	size_t			 node[MAX_OIDF_PATH];
	size_t			 link[MAX_OIDF_PATH];
	time_t			 exp;			/* min exp of the statements */
};

/* A leaf whose chain validated, on its way to becoming an entity. */
struct oleaf {
	size_t			 node;
	struct ochain		 chain;
	json_t			*md;		/* resolved metadata (own reference) */
	unsigned		 roles;		/* ROLE_* kept */
};

/* oidf.c */
size_t	 ofetch_want(struct ores *, const char *url, size_t max);
void	 ofetch_run(struct ores *);
const struct ofetch *ofetch_get(const struct ores *, const char *url);
int	 ovwrap(struct verdict *, const struct verdict *in, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
char	*ourl_join(const char *endpoint, const char *query);
int	 ourl_https(const char *);

/* oidf_graph.c */
size_t	 onode_get(struct ores *, const char *id);
long	 onode_find(const struct ores *, const char *id);
int	 onode_ok(const struct ores *, size_t);
const struct jwkset *onode_keys(const struct ores *, size_t);
const char *oec_endpoint(const struct oidf_stmt *, const char *name);
char	*oec_url(const char *id);
void	 oec_load(struct ores *, size_t);
void	 oleaf_add(struct ores *, size_t);
int	 odiscover(struct ores *, struct verdict *);
void	 oexplore_up(struct ores *, const size_t *, size_t);
void	 overify_down(struct ores *);
void	 oleaf_why(const struct ores *, size_t, struct verdict *);
void	 ograph_free(struct ores *);

/* oidf_chain.c */
int	 ochain_build(const struct ores *, size_t node, size_t link, struct ochain *,
	    struct verdict *);
const struct oidf_stmt *ochain_st(const struct ores *, const struct ochain *, size_t j);
int	 ochain_check(const struct ores *, const struct ochain *, json_t **md, struct verdict *);
int	 oleaf_select(struct ores *, size_t node, struct oleaf *, struct verdict *);
const char *otype_name(unsigned role);

/* oidf_tm.c */
int	 otm_issuer_ok(struct ores *, size_t node, struct verdict *);
void	 otm_prepare(struct ores *, const struct oleaf *, size_t);
void	 otm_validate(struct ores *, const struct oleaf *, struct entity *);

/* oidf_leaf.c */
void	 okeys_want(struct ores *, const struct oleaf *);
int	 oleaf_entity(struct ores *, const struct oleaf *, struct entity *, struct verdict *);

#endif /* FEDTRUST_OIDF_INT_H */
