/** The `--help` text of the commands that get a certificate (cert, renew, revoke), with their exit codes. */
export const ENROLL_USAGE = `  cert --server <ACME directory URL> --email <address> [--email <address> ...] --out <folder>
       [--key-type rsa-2048|rsa-3072|rsa-4096|p-256|p-384 (default p-256)] [--usage sign|encrypt|both (default both)]
       [--key <key.pem>] [--join string|bytes|auto (default auto: found per CA)] [--eab-kid <kid> --eab-hmac-key-file <file>]
       [--trust <root.pem> ...] [--doh <DNS-over-HTTPS URL>] [--passphrase-file <file>] [--agree-tos]
       [--post-after <seconds> (default 120)] [--timeout <minutes> (default 30)] [--state-dir <folder>]
       [--ask (confirm each reply on the terminal)] [--json] [--verbose] [--plain]
       [--one-certificate (every --email in one certificate, owned by the first: one order, each challenge
        answered from its own address in turn; the files and the renewal are the first address's)]
     and either (IMAP + SMTP, the mail is answered for you after the add-on's checks):
       --imap-host <host> [--imap-port <port>] [--imap-tls tls|starttls|none (default tls, port 993/143)]
       [--smtp-host <host> (default the IMAP host)] [--smtp-port <port>] [--smtp-tls tls|starttls|none (default starttls, port 465/587)]
       [--user <login> (default the first --email; once, or once per --email)] (--password-file <file> | --oauth2-token-file <file>)
     or --manual: paste the challenge's subject, or the whole raw mail (its DKIM is then checked), on stdin;
       the response block to send is printed on stdout.
     Writes <out>/<address>.p12, <out>/<address>.pass (the generated passphrase, 0600; not with --passphrase-file)
     and <out>/<address>.chain.pem per certificate, named after its first address. Never a clear key.
  renew [--state-dir <folder>] [--json] [--verbose]
     renews every certificate that is due (the CA's ARI window, else the last third of its lifetime),
     with the options of its cert run; one run at a time; safe to run every hour.
  revoke --server <ACME directory URL> --cert <chain.pem> (--key <key.pem> | --p12 <file.p12> --passphrase-file <file> | --account)
       [--reason 0|1|3|4|5|9 (RFC 5280: unspecified, keyCompromise, affiliationChanged, superseded,
       cessationOfOperation, privilegeWithdrawn)] [--trust <root.pem> ...] [--state-dir <folder>] [--json]
  The state folder (account keys, requests, certificates to renew) is $XDG_CONFIG_HOME/acme-email
  (~/.config/acme-email) unless --state-dir is given.
exit codes of cert, renew and revoke:
    0  done (renew: also when nothing was due)
    1  the CA refused, the challenge failed, no authentic challenge mail came in time, or a pasted mail was refused
    2  bad options, or an input file that cannot be used
    3  the CA or the DNS-over-HTTPS resolver could not be reached, even after retries
    4  the IMAP or SMTP server could not be reached or refused the login
    5  another acme-email is working in the same state folder
  130  stopped by Ctrl-C or SIGTERM
`;
