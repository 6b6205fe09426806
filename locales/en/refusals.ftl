# An update's states and events as people read them, and what Tocsin refuses to do, and why:
# said by the console's pages and by the command line, in the language of each (`src/app/refusal.rs`). `$state` is one of the names below;
# `$code` is the same state as the program names it, only to choose a variant.

# An update's state, as a sentence names it.
update-state-draft = draft
update-state-approved = approved
update-state-planned = planned
update-state-sending = sending
update-state-sent = sent
update-state-halted = halted
update-state-discarded = discarded

# What happened to an update, as its history on the console names it.
update-event-approved = approved
update-event-returned = sent back to the author
update-event-revoked = approval revoked
update-event-discarded = discarded
update-event-scheduled = sending scheduled
update-event-paused = paused
update-event-resumed = resumed
update-event-retried = sent again
update-event-halted = halted

# $id, $state
refusal-nothing-more-sent = update { $id } is { $state }: nothing more of it is sent
# $id, $state
refusal-retry-not-sent = update { $id } is { $state }: only an update that was sent can be sent again
# $id, $state, $code
refusal-halt = update { $id } is { $state }: only an approved or running update can be halted{ $code ->
    [draft] { " " }(a draft is discarded: tocsin update discard)
   *[other] { "" }
}
# $id, $state, $code
refusal-discard = update { $id } is { $state }: only a draft can be discarded{ $code ->
    [approved] { " " }(revoke its approval first: tocsin update revoke)
    [sending] { " " }(to stop it: tocsin update halt)
    [sent] { " " }(to stop it: tocsin update halt)
   *[other] { "" }
}
# $id, $state, $code
refusal-revoke = update { $id } is { $state }: only an approved update that has not started sending can have its approval revoked{ $code ->
    [planned] { " " }(to stop it: tocsin update halt)
    [sending] { " " }(to stop it: tocsin update halt)
    [sent] { " " }(to stop it: tocsin update halt)
   *[other] { "" }
}
# $id, $state
refusal-schedule = update { $id } is { $state }: only an approved update that has not started sending can be sent or scheduled
# $at
refusal-time-passed = { $at } has passed: choose a later time, or send now
# $typed, $tz
refusal-not-a-time = "{ $typed }" is not a time as 2026-12-01 09:30 (in { $tz })
# $typed, $tz
refusal-no-such-time = { $typed } does not exist in { $tz }
refusal-comment-empty = say what the author should change: the comment is empty
# $max
refusal-comment-too-long = a comment has at most { $max } characters
# $id, $state
refusal-pause = update { $id } is { $state }: only an update being sent can be paused
# $id, $reason
refusal-pause-paused = update { $id } is paused ({ $reason }): only an update being sent can be paused
# $id
refusal-no-longer-sending = update { $id } is no longer being sent
# $id, $state
refusal-resume = update { $id } is { $state } and not paused: nothing to resume
# $id, $state
refusal-fallback-not-sent = update { $id } is { $state }: only an update being sent or sent has fallbacks
# $id, $reason
refusal-fallback-paused = update { $id } is paused ({ $reason }): resume it first, then send the fallback
# $contact, $external, $id, $channel
refusal-preview-contact = contact { $contact } ({ $external }) is in none of the audiences of update { $id }, or gets nothing{ $channel ->
    [sms] { " " }on sms
    [email] { " " }on email
    [telegram] { " " }on telegram
   *[any] { "" }
}
# $id, $language, $channel
refusal-preview-language = no contact of update { $id }'s audiences reads { $language }{ $channel ->
    [sms] { " " }on sms
    [email] { " " }on email
    [telegram] { " " }on telegram
   *[any] { "" }
}
# $id, $channel
refusal-preview-nobody = update { $id }'s audiences reach nobody{ $channel ->
    [sms] { " " }on sms
    [email] { " " }on email
    [telegram] { " " }on telegram
   *[any] { "" }
}
refusal-test-signed-in = a test goes to the signed-in user's own address
# $user, $channel
refusal-test-no-address = { $channel ->
    [sms] { $user } has no sms of their own for a test: tocsin user set { $user } --phone
   *[email] { $user } has no email of their own for a test: tocsin user set { $user } --email
}
# $channel
refusal-no-channel = { $channel ->
    [sms] no sms channel is configured
    [telegram] no telegram channel is configured
   *[email] no email channel is configured
}
# $reason
refusal-test-not-sent = the test was not sent: { $reason }
# $incident
refusal-incident-discarded = incident "{ $incident }" has only discarded updates: start from a playbook (tocsin update playbooks)
# $incident
refusal-no-incident = there is no incident "{ $incident }" (tocsin update list shows each update's incident)
# $file, $follows, $theirs, $ours
refusal-follows-other-incident = { $file }: follows = { $follows } belongs to incident "{ $theirs }", not "{ $ours }"
