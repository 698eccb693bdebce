// The fwc policy language, its one definition. It generates the token table
// fwc's own parser (compiler/syntax/policy_parser.cc) uses, and the ANTLR
// parser it is checked against (compiler/syntax/reference_parser.cc, whose
// parse tree never leaves that file: it becomes the AST of
// compiler/syntax/ast.h there).
grammar Fwc;

file_       : statement* EOF ;

statement   : includeStmt
            | firewallDecl
            | clusterDecl
            | hostDecl
            | networkDecl
            | rangeDecl
            | groupDecl
            | serviceDecl
            | setDecl
            | markDecl
            | helperDecl
            | policyDecl
            | expectStmt
            ;

includeStmt : 'include' STRING ';' ;

firewallDecl  : 'firewall' name '{' interfaceDecl* '}' ';'? ;
interfaceDecl : 'interface' name device=name (ifaceAddr (',' ifaceAddr)*)? ';' ;
ifaceAddr     : ADDR ;

// Firewalls that share one policy and hand virtual addresses between them
// (an HA pair). Each member is compiled on its own (--firewall NAME), and
// the cluster's name means the member being compiled, its own addresses and
// the virtual ones. 'interface' names a member interface and the virtual
// addresses (literals or hosts) it holds in turn; 'protocols' adds the rules
// the cluster's own traffic needs (vrrp, pacemaker, conntrackd).
clusterDecl   : 'cluster' name '{' clusterItem* '}' ';'? ;
clusterItem   : firewallDecl                                 # clusterMember
              | 'interface' name addrItem (',' addrItem)* ';' # clusterAddress
              | 'protocols' name (',' name)* ';'             # clusterProtocols
              ;

hostDecl    : 'host' name ADDR (',' ADDR)* ';' ;
networkDecl : 'network' name ADDR (',' ADDR)* ';' ;
rangeDecl   : 'range' name addrRange (',' addrRange)* ';' ;
addrRange   : ADDR '-' ADDR ;
groupDecl   : 'group' name '{' (groupMember (',' groupMember)*)? ','? '}' ';'? ;
groupMember : addrItem | svcSpec ;
serviceDecl : 'service' name svcItem (',' svcItem)* ';' ;
// A set of addresses whose elements are owned at runtime (a blocklist fed
// by fail2ban or a script); the optional name is its family, ipv4 or ipv6.
setDecl     : 'set' name 'runtime' family=name? ';' ;

// A named packet or connection mark: the one line an LVS failover changes.
markDecl    : 'mark' name NUMBER ';' ;

// A conntrack helper (tftp, ftp, ...) for the traffic of a service: the
// related connections it expects pass by the stateful rule.
helperDecl  : 'helper' name svcSpec ';' ;

policyDecl  : 'policy' name 'default' action '{' policyItem* '}' ';'? ;
policyItem  : optionStmt | natBlock | marksBlock | ruleDecl ;
optionStmt  : 'option' name optionValue ';' ;
optionValue : name | NUMBER | 'no' ;

// The NAT section, in order, first match wins: DNAT and redirect before
// routing, SNAT and masquerade after it.
natBlock    : 'nat' '{' natRule* '}' ';'? ;
natRule     : natAction svcSet? 'from' src=addrSet 'to' dst=addrSet ruleOption* ';' ;
natAction   : 'snat' 'to' addrItem natPort?       # snatAction
            | 'masquerade' natPort?               # masqueradeAction
            | 'dnat' 'to' addrItem natPort?       # dnatAction
            | 'redirect' 'to' natPort             # redirectAction
            | 'no' 'nat'                          # noNatAction
            ;
natPort     : 'port' port ;

// Packet and connection marks, set before routing, first match wins.
marksBlock  : 'marks' '{' markRule* '}' ';'? ;
markRule    : kind=('mark' | 'connmark') markValue svcSet? 'from' src=addrSet 'to' dst=addrSet ruleOption* ';' ;
markValue   : NUMBER | name ;

// An expectation: the one packet the rule-like part names must get this
// verdict (checked by fwc check, like a test the policy carries).
expectStmt  : 'expect' action svcSet? 'from' src=addrSet 'to' dst=addrSet ruleOption* ';' ;

ruleDecl    : action svcSet? 'from' src=addrSet 'to' dst=addrSet ruleOption* ';' ;
action      : 'accept' | 'drop' | 'reject' ;
ruleOption  : 'in' name                       # inIface
            | 'out' name                      # outIface
            | 'log' logArg*                   # logOpt
            | 'counter'                       # counterOpt
            | 'comment' STRING                # commentOpt
            | 'disabled'                      # disabledOpt
            | 'if' negated='not'? name        # ifOpt
            | 'nowarn' name (',' name)*       # nowarnOpt
            | 'mark' markValue                # markOpt
            | 'connmark' markValue            # connmarkOpt
            | 'state' name (',' name)*        # stateOpt
            | 'limit' NUMBER '/' name         # limitOpt
            | 'connlimit' NUMBER              # connlimitOpt
            ;
logArg      : 'prefix' STRING                 # logPrefix
            | 'rate' NUMBER '/' name          # logRate
            ;

addrSet     : negated='not'? (addrItem | '{' addrItem (',' addrItem)* ','? '}') ;
addrItem    : 'any'                           # anyAddr
            | addrRange                       # rangeAddr
            | ADDR                            # literalAddr
            | name                            # namedAddr
            ;

svcSet      : negated='not'? (svcItem | '{' svcItem (',' svcItem)* ','? '}') ;
svcItem     : svcSpec | 'any' | name ;
svcSpec     : proto=('tcp' | 'udp') ports? ('sport' sports=ports)?   # portSvc
            | proto=('icmp' | 'icmpv6') icmpType?                     # icmpSvc
            | 'proto' (name | NUMBER)                                 # protoSvc
            ;
ports       : port | '{' port (',' port)* ','? '}' ;
port        : NUMBER ('-' NUMBER)? ;
// 'redirect' is also an ICMP type (5), though a keyword of the nat section.
icmpType    : (name | NUMBER | 'redirect') ('code' NUMBER)? ;

name        : ID ;

// An address token is lexed loosely (any dotted number, anything with a colon)
// so that a malformed address gets a precise semantic error instead of a
// confusing token error.
ADDR        : V4 ('/' [0-9]+)? | V6 ('/' [0-9]+)? ;
fragment V4 : [0-9]+ ('.' [0-9]+)+ ;
fragment V6 : [0-9a-fA-F.]* ':' [0-9a-fA-F:.]* ;
NUMBER      : [0-9]+ ;
ID          : [a-zA-Z_] [a-zA-Z0-9_-]* ;
// A string stays on one line: an escape may not hide a line break, which
// would otherwise travel into the generated rules (and scripts).
STRING      : '"' (~["\\\r\n] | '\\' ~[\r\n])* '"' ;
COMMENT     : '#' ~[\r\n]* -> skip ;
WS          : [ \t\r\n]+ -> skip ;
ANYCHAR     : . ;
