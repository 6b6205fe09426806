# The command line's own sentences, in English: its summaries, prompts and errors.
# Not the messages recipients get (those are in messages.ftl). Built into the binary.
# Variables each message is given are listed above it; a test and the check at start refuse
# a message that uses another one. Counts ($count and the like) are numbers: Tocsin groups
# their thousands as the language writes them; ids, files and names are text.
# A line the command line indents gets its indentation from the code: Fluent drops leading
# spaces.

## Formats (chrono strftime patterns)
cli-date-format = %Y-%m-%d
# A moment, in the hospital's time zone.
cli-datetime-format = %Y-%m-%d %H:%M

## The frame of every error and warning
# $message
error-line = error: { $message }
# $label, $value: "sms: 43", a label and what it labels
labelled = { $label }: { $value }
# $message, $cause: an error and what caused it
error-cause = { $message }: { $cause }
# $message
warning-line = WARNING: { $message }
# $value
warning-unknown-language = warning: TOCSIN_LANG={ $value } is not a language of the command line (nl, fr or en): Tocsin answers in English
# $reason
error-runtime = cannot start the runtime: { $reason }
# $reason
error-stdout = cannot write to the standard output: { $reason }
# $url
error-database = database { $url }
# $path, $reason
error-read = cannot read { $path }: { $reason }
# $path
error-create = cannot create { $path }
error-io-not-found = No such file or directory
error-io-permission = Permission denied
error-io-directory = Is a directory
# $id
error-update-not-found = update { $id } not found
# $id, $author
error-same-author = update { $id } was written by { $author }: a second person must approve it (four eyes)
# $id, $state
error-not-draft = update { $id } is { $state }, only a draft can be approved
# $id
error-not-approved = update { $id } is a draft: it must be approved by a second person before it is sent
# $file, $reason
error-unreadable = { $file }: { $reason }; nothing was imported
# $file
error-draft-not-stored = { $file } was not stored:
# $action, $file
error-placeholders = refusing to { $action }: messages would carry the example hospital details, not yours. Set in { $file }:
error-placeholders-no-file = tocsin.toml (none was found in the working directory; or pass --config FILE)
# $section, $key
error-placeholder-empty = [{ $section }] { $key } is empty
# $section, $key, $value
error-placeholder-example = [{ $section }] { $key } is still the example "{ $value }"
error-placeholders-check = `tocsin check` shows everything the configuration will do.
action-draft = draft an update
action-approve = approve an update
action-send = send an update
action-press-export = export the press room
action-serve = run tocsin serve
action-worker = run tocsin worker
# $count
error-check-problems = { $count ->
        [one] { $count } thing
       *[other] { $count } things
    } to fix before tocsin can send

## tocsin check: its verdict
check-warnings = Warnings:
check-nothing-missing = Nothing missing: updates can be drafted and sent.
check-missing = Missing or wrong (tocsin refuses to send until fixed):

## Serve
# $address
serve-receipts = Receiving delivery receipts on http://{ $address }/receipts/… (Ctrl-C to stop)
# $address
serve-press = Press room on http://{ $address }/
# $address
serve-console = Console for the spokesperson and the crisis cell on http://{ $address }/console
serve-no-dispatch = Sending nothing: tocsin worker processes send (receipts, press room and console only)

## Worker
worker-started = Sending the updates being sent, sharing the work with every other worker on this database (Ctrl-C to stop)
# $sent, $finished
worker-stopped = Stopped: { $finished ->
        [one] { $finished } delivery
       *[other] { $finished } deliveries
    } settled by this worker, { $sent } of them sent

## Migrate
# $version, $description
migrate-done = The database's schema is up to date: version { $version } ({ $description })

## Opt-outs
# $contact, $channel
optout-added = { $contact }: opted out of { $channel }
# $contact, $channel
optout-already = { $contact }: was already opted out of { $channel }
# $contact, $channel
optout-removed = { $contact }: receives { $channel } again
# $contact, $channel
optout-not-there = { $contact }: was not opted out of { $channel }

## Audiences
# $spec, $count
audience-contacts = { $spec }: { $count ->
        [one] { $count } contact
       *[other] { $count } contacts
    }
# $list: "nl 12, fr 3"
audience-by-language = by language: { $list }
# $list
audience-reachable = reachable by: { $list }

## Exports
# $count, $file
export-unreached-written = { $count ->
        [one] { $count } unreached contact
       *[other] { $count } unreached contacts
    } written to { $file }
# $count, $file
audit-written = { $count ->
        [one] { $count } audit entry
       *[other] { $count } audit entries
    } written to { $file }
# $dir, $written, $unchanged, $removed
press-export-summary = { $dir }: { $written ->
        [one] { $written } file
       *[other] { $written } files
    } written, { $unchanged } unchanged, { $removed } removed
# $path
press-export-removed = removed { $path }

## update draft
# $id, $kind, $author
draft-stored = Stored draft update { $id } ({ $kind }, by { $author }).
draft-sms-heading = The sms text as written:
# $language, $encoding, $parts, $units
draft-sms-language = [{ $language }]: { $encoding }, { $parts ->
        [one] { $parts } part
       *[other] { $parts } parts
    }, { $units ->
        [one] { $units } unit
       *[other] { $units } units
    }
# $chars
draft-forced-ucs2 = forced UCS-2 by: { $chars }
# $parts, $proposal
draft-gsm7-version = GSM-7 version ({ $parts ->
        [one] { $parts } part
       *[other] { $parts } parts
    }): { $proposal }
draft-gsm7-hint = draft again with --sms-gsm7 to use it
# $id
draft-next = Next: tocsin update preview { $id } [--language nl|fr|en], then tocsin update approve { $id } --by NAME   (someone other than the author)
forecast-heading = Who it reaches now (as tocsin update send would plan it):
# $spec, $count
forecast-audience = { $spec }: { $count ->
        [one] { $count } contact
       *[other] { $count } contacts
    }
# $count
forecast-shared = ; { $count } more counted under an earlier audience
# $list
forecast-skipped = skipped: { $list }
# $count
forecast-unreachable = reached on no channel: { $count } (the call centre's list)
forecast-sms-heading = SMS as recipients get them (sender, their own appointments), parts per message:
# $messages, $parts: "12 of 2 parts"
forecast-sms-parts = { $messages } of { $parts ->
        [one] { $parts } part
       *[other] { $parts } parts
    }
# $language, $messages, $distribution, $parts
forecast-sms-language = [{ $language }] { $messages } SMS: { $distribution } = { $parts ->
        [one] { $parts } part
       *[other] { $parts } parts
    }
# $contact, $parts, $encoding
forecast-longest = ; longest: { $contact } ({ $parts ->
        [one] { $parts } part
       *[other] { $parts } parts
    }, { $encoding })
# $messages, $parts
forecast-total = total: { $messages } SMS, { $parts ->
        [one] { $parts } part
       *[other] { $parts } parts
    } to pay for

## update approve, preview, send, retry, halt, discard, revoke, list
# $id, $by
approved = Update { $id } approved by { $by }. Next: tocsin update send { $id }
# $channel, $address, $contact, $external, $name, $language
preview-heading = === { $channel } to { $address } (contact { $contact }, { $external }), { $name }, { $language }
# $channel, $address, $contact, $external, $name, $language
preview-heading-stored = === { $channel } to { $address } (contact { $contact }, { $external }), { $name }, { $language }, as sent
preview-no-address = (no address)
# $subject
preview-subject = Subject: { $subject }
preview-html = --- HTML part ---
# $id
send-planned-before = Update { $id } was planned before: nothing new planned.
# $id, $count
update-fallback-planned = Update { $id }: { $count ->
        [one] { $count } delivery
       *[other] { $count } deliveries
    } planned on the fallback channel (tocsin serve or tocsin update send { $id } sends them).
# $count, $skipped
send-planned = Planned { $count ->
        [one] { $count } delivery
       *[other] { $count } deliveries
    } ({ $skipped } skipped: opted out or no address).
# $count
send-resumed = Resumed { $count ->
        [one] { $count } delivery
       *[other] { $count } deliveries
    } held back by the run that stopped before.
# $count, $by
retry-sent = { $count ->
        [one] { $count } delivery
       *[other] { $count } deliveries
    } sent again at the request of { $by }.
# $count, $by, $resumed
retry-sent-and-resumed = { $count ->
        [one] { $count } delivery
       *[other] { $count } deliveries
    } sent again at the request of { $by }, and { $resumed ->
        [one] { $resumed } delivery
       *[other] { $resumed } deliveries
    } held back by a stopped run.
# $id, $by, $count
halted = Update { $id } halted by { $by }: { $count ->
        [one] { $count } delivery
       *[other] { $count } deliveries
    } cancelled. A running send stops within a second; messages already handed to a gateway are not called back.
# $id, $by
discarded = Draft { $id } discarded by { $by }: it will never be sent.
# $id, $by
revoked = Approval of update { $id } revoked by { $by }: it is a draft again. Next: tocsin update approve { $id } --by NAME, or tocsin update discard { $id }
# $author
list-by = (by { $author })
# $author, $approver
list-by-approved = (by { $author }, approved by { $approver })

## The end of update send and update retry, and its exit code
# $count, $id
run-missed = { $count ->
        [one] { $count } delivery
       *[other] { $count } deliveries
    } did not reach the recipient (failed, undeliverable or uncertain). The call centre's list: tocsin export unreached { $id } --csv FILE
# $count
run-stopped = The run STOPPED with { $count ->
        [one] { $count } delivery
       *[other] { $count } deliveries
    } held back, nothing lost:
# $id
run-stopped-fix = Fix the cause (tocsin check shows the configuration), then: tocsin update send { $id }
# $id
run-stopped-refused = Refused meanwhile, to send again once fixed: tocsin update retry { $id } --state undeliverable [--reason TEXT]
# $id
# $id, $by
update-returned = Update { $id } sent back to its author by { $by }: it is still a draft.
# $id, $at, $timezone
update-scheduled = Update { $id } is to be sent at { $at } ({ $timezone }) by tocsin serve or a tocsin worker, one of which must be running then.
# $id, $by, $count
update-paused = Update { $id } paused by { $by }: { $count ->
        [one] { $count } delivery
       *[other] { $count } deliveries
    } held. To go on: tocsin update resume { $id }
# $id, $by, $count
update-resumed = Update { $id } resumed by { $by }: { $count ->
        [one] { $count } delivery
       *[other] { $count } deliveries
    } due again; tocsin serve sends them (or: tocsin update send { $id }).
# $by, $comment
list-returned = sent back by { $by }: { $comment }
# $id
run-paused = Update { $id } was paused: what is left waits. To go on: tocsin update resume { $id }
run-halted = Update { $id } was halted: nothing more of it is sent.
# $done, $open, $sent, $undeliverable, $failed, $uncertain, $rate, $waiting, $notes ($rate and $notes are built from the messages below, or empty)
progress-line = { $done } of { $open } final ({ $sent } sent, { $undeliverable } undeliverable, { $failed } failed, { $uncertain } uncertain{ $rate }); { $waiting } waiting{ $notes }
# $rate
progress-rate = , { $rate }/s
# $error
progress-last-error = ; last error: { $error }
# $line
progress-prefix = progress: { $line }

## Imports
# $file, $count, $rejected
import-optouts = { $file }: { $count ->
        [one] { $count } opt-out
       *[other] { $count } opt-outs
    } applied, { $rejected } rejected
# $file
import-optouts-rejects = Rejected lines, with the reason: { $file }
# $file, $records, $accepted, $rejected ($accepted is one of the three below, with a space between them)
import-read = { $file }: { $records ->
        [one] { $records } record
       *[other] { $records } records
    } read, { $accepted } { $rejected } rejected
# $count
import-accepted = { $count } accepted,
# $count, $kept
import-accepted-kept = { $count } accepted, of which { $kept } without a field;
# $count
import-skipped = { $count } skipped (see the notes);
# $new, $updated, $unchanged
import-contacts = contacts:     { $new } new, { $updated } updated, { $unchanged } unchanged
# $new, $updated, $unchanged
import-appointments = appointments: { $new } new, { $updated } updated, { $unchanged } unchanged
# $count
import-conflicts = conflicts:    { $count } not merged: the id of a known contact, but another person (nothing of them was written; see tocsin import conflicts)
# $line, $field, $message
import-note = note, line { $line }: { $field }: { $message }
# $file
import-rejects = Rejected records and those kept without a field, with the reason by field: { $file }

## import conflicts
# $id, $contacts, $new, $updated
conflict-accepted = Conflict { $id } accepted: the record is merged ({ $contacts } contact updated, { $new } appointments new, { $updated } updated).
# $id
conflict-rejected = Conflict { $id } rejected: nothing of that record is imported.
conflicts-none = No import conflict.
conflicts-none-open = No import conflict is open.
# $date
conflict-born = born { $date }
conflict-born-unknown = birth date unknown
# $id, $state, $identity, $reason
conflict-line = #{ $id } ({ $state }) { $identity } — { $reason }
# $id, $state, $by, $identity, $reason
conflict-line-decided = #{ $id } ({ $state } by { $by }) { $identity } — { $reason }
# $source
conflict-from = from { $source }
# $id, $name, $role, $born, $external
conflict-known = known:    #{ $id } { $name } ({ $role }, { $born }, { $external })
conflict-known-several = known:    several contacts
# $name, $role, $born, $count
conflict-imported = imported: { $name } ({ $role }, { $born }), { $count ->
        [one] { $count } appointment
       *[other] { $count } appointments
    } held
conflict-decide = Decide with: tocsin import conflicts --accept ID (the same person: merge) or --reject ID (another person: import nothing of it, correct the export)

## Accounts and the audit log
# $name, $role
user-added = user { $name } added, role { $role }
user-contact-set = their own address for tests is set
# $name
user-contact-set-for = user { $name }: their own address for tests is set
user-set-needs = give --email ADDRESS, --phone NUMBER or both
# $until
user-setup-token = setup link (shown once, valid until { $until }), to open at the console's address:
user-flag-disabled = disabled
user-flag-no-password = no password yet (setup token)
# $name
user-disabled = user { $name } disabled; their sessions ended
# $name
prompt-password = password for { $name }:
prompt-password-again = the same password again:
error-password-read = cannot read the password
error-password-stdin = cannot read the password from standard input
error-passwords-differ = the two passwords differ; nothing was changed

## tocsin status: where every delivery of an update stands
# $id
status-draft = Update { $id } is a draft: nothing is planned or sent.
# $id
status-draft-next = Next: tocsin update preview { $id }, then tocsin update approve { $id } --by NAME (someone other than the author)
# $id
status-discarded = Update { $id } was discarded: nothing of it is sent.
# $id
status-approved-empty = Update { $id } is approved but not sent: nothing is planned yet.
# $id, $count
status-approved = Update { $id } is approved and planned, not sent: { $count ->
        [one] { $count } delivery
       *[other] { $count } deliveries
    }.
# $id
status-next-send = Next: tocsin update send { $id }
# $id, $count
status-paused = Update { $id } is paused: { $count ->
        [one] { $count } delivery
       *[other] { $count } deliveries
    }
# $id, $count
status-sending = Update { $id } is being sent: { $count ->
        [one] { $count } delivery
       *[other] { $count } deliveries
    } (tocsin update send { $id } or tocsin serve finishes it)
# $id, $count
status-sent = Update { $id } was sent: { $count ->
        [one] { $count } delivery
       *[other] { $count } deliveries
    }
# $id, $count
status-halted = Update { $id } was halted: { $count ->
        [one] { $count } delivery
       *[other] { $count } deliveries
    }; what had not left is cancelled
# $count, $reason
status-paused-reason = PAUSED, { $count } held back: { $reason }
# $id
status-paused-fix = after fixing it: tocsin update send { $id }
status-column-rows = channel/lang
status-row-all = all
# $gateway
status-row-gateway = sms via { $gateway }
status-breakers = SMS gateways, circuit breaker:
# $when
status-breaker-since = since { $when }
# $error
status-breaker-error = (last error: { $error })
# $count
status-unreached = Unreached contacts: { $count }
# $count, $tocsin, $id
status-unreached-more = … and { $count } more: { $tocsin } export unreached { $id } --csv FILE [--channel C] [--state S] [--reason TEXT]
# The columns: a delivery's state.
state-pending = pending
state-sending = sending
state-sent = sent
state-delivered = delivered
state-failed = failed
state-undeliverable = undeliverable
state-skipped = skipped
state-cancelled = cancelled
state-uncertain = uncertain

## Four eyes by account (update draft, approve, return)
# $name, $known: the accounts that may draft, or foureyes-none-yet
foureyes-unknown-author = the author "{ $name }" is not an account: once Tocsin has accounts, an update's author must be one. Give the account's name with --by NAME (or author = "NAME" in the file), or add it: tocsin user add NAME --role author (accounts that may draft: { $known })
# $name, $known: the approvers' accounts, or foureyes-none-yet
foureyes-unknown-reviewer = "{ $name }" is not an account: once Tocsin has accounts, whoever approves or sends back an update must be an approver's account. Give it with --by NAME, or add it: tocsin user add NAME --role approver (approvers: { $known })
foureyes-none-yet = none yet
# $name
foureyes-disabled-draft = the account { $name } is disabled: it may not draft an update
# $name
foureyes-disabled-review = the account { $name } is disabled: it may not approve or send back an update
# $name, $role
foureyes-role-draft = { $name } is an account of role { $role }, which drafts no update: give an author's or approver's account with --by NAME
# $name, $role
foureyes-role-review = { $name } is an account of role { $role }: only an approver approves or sends back an update
# $id, $author
foureyes-author-not-account = update { $id } was drafted by "{ $author }", who is not an account: four eyes cannot tell whether its approver is the same person. Draft it again under the author's account (tocsin update draft FILE --by NAME), then discard this one (tocsin update discard { $id })
foureyes-by-names = Note: Tocsin has no accounts, so four eyes compares the names typed (the file's author, --by) and cannot tell one person under two names. Once accounts exist (tocsin user add NAME --role author or approver), drafts and reviews must name them.

## A scheduled update tocsin serve could not start (status)
# $since, $reason
schedule-not-started = NOT STARTED: tocsin serve could not start it at its time (first at { $since }): { $reason }
# $id
schedule-not-started-fix = fix the cause: tocsin serve tries again every 5 seconds (or take the approval back: tocsin update revoke { $id })
