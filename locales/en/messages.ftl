# Fixed phrases of every message, in English.
# A locales_dir in the configuration may replace this file (see README, "Changing a sentence").
# Variables each message is given are listed above it; the check at start refuses a message
# that uses another one.

## Dates and times: chrono strftime patterns, read by Tocsin's date formatter.
date-format = %A %-d %B %Y
time-format = %-H:%M
# $date, $time
datetime = { $date } at { $time }
# The SMS's short form: "Tue 13/01 at 9:30".
sms-date-format = %a %d/%m
sms-time-format = %-H:%M
# $date, $time
sms-datetime = { $date } { $time }

## E-mail
# $hospital, $title
email-subject = { $hospital } – { $title }
# $when
email-updated = Sent on { $when }

## Greetings: $name is the contact's full name.
greeting-patients = Dear { $name },
greeting-gps = Dear Colleague,
greeting-media = Dear { $name },
# A contact without a name.
greeting-unnamed = Dear Sir or Madam,

## Appointments: $when, $department, $campus (as campus-name writes it).
appointment-cancelled = Your appointment on { $when } in { $department } ({ $campus }) has been cancelled.
appointment-postponed = Your appointment on { $when } in { $department } ({ $campus }) has been postponed.
appointment-as-planned = Your appointment on { $when } in { $department } ({ $campus }) will go ahead as planned.
# $campus
campus-name = { $campus } campus
# $count: the patient's appointments in this message.
what-to-do-cancelled = Please do not come to the hospital for { $count ->
        [one] this appointment
       *[other] these appointments
    }. You do not need to do anything: we will contact you to book a new appointment. If you need urgent care, call your GP or, in the evening and at weekends, the GP out-of-hours service on 1733. In a life-threatening emergency, call 112.
what-to-do-postponed = Please do not come to the hospital for { $count ->
        [one] this appointment
       *[other] these appointments
    }. You do not need to do anything: we will contact you to agree a new date. If you need urgent care, call your GP or, in the evening and at weekends, the GP out-of-hours service on 1733. In a life-threatening emergency, call 112.
what-to-do-as-planned = Please come to your { $count ->
        [one] appointment
       *[other] appointments
    } as planned.

## SMS: short, and only GSM-7 characters, so that a message takes as few parts as possible.
# $hospital (the short name)
sms-sender = { $hospital }:
# $when (the short form), $department
sms-appointment-cancelled = Your appointment on { $when } ({ $department }) has been cancelled.
sms-appointment-postponed = Your appointment on { $when } ({ $department }) has been postponed.
sms-appointment-as-planned = Your appointment on { $when } ({ $department }) will go ahead.
# $phone
sms-what-to-do-cancelled = Please do not come. Questions? Call { $phone }.
sms-what-to-do-postponed = Please do not come, we will call you with a new date. Questions? Call { $phone }.
sms-what-to-do-as-planned = Please come as planned. Questions? Call { $phone }.
sms-questions = Questions? Call { $phone }.
sms-media-contact = Press: { $phone }.

## GPs: the list of a GP's patients says what the update says of their appointments.
gps-intro = This message is for general practitioners.
gps-affected-intro-cancelled = The following appointments of your patients have been cancelled:
gps-affected-intro-postponed = The following appointments of your patients have been postponed:
gps-affected-intro-as-planned = The following appointments of your patients will go ahead as planned:
# $when, $department, $campus
gp-patient-appointment = { $when }, { $department }, { $campus }
# $date
gp-patient-born = born { $date }

## Press
media-label = PRESS RELEASE
# $phone (the press line), $url
media-contact = Press contact: { $phone }. More information: { $url }

## Closing
# $phone, $url
questions = Questions? Call { $phone } or visit { $url }
# $hospital
signature = The { $hospital } crisis team
footer-patients = You are receiving this message because you have an appointment at { $hospital }.
footer-gps = You are receiving this message as a GP in the area served by { $hospital }.
footer-media = You are receiving this message because you are on the press list of { $hospital }.

## Press room: the public pages and feeds (shared by pages and feeds)
# $hospital
press-title = { $hospital }: crisis updates
press-kind-alert = Alert
press-kind-update = Update
press-kind-cancel = Cancellation
press-kind-allclear = All clear
press-withdrawn = Sending of this message was stopped.
# $reference
press-reference = Reference: { $reference }

## Press room: the feeds (Atom, RSS, JSON Feed) and the CAP alerts
# $hospital
press-feed-description = The official messages of { $hospital } during the crisis, newest first. Check a message's reference on this site.
# $kind (press-kind-*), $title (the update's)
press-feed-entry-title = { $kind }: { $title }
# $hospital
press-cap-title = { $hospital }: CAP alerts (nl, fr, en)
# $phone: the press line, as a CAP alert's contact.
press-cap-contact = Press: { $phone }

## Press room: the public pages
# Each language's name in that language, for the language switcher and the headings of the
# press release's parts.
press-language-name = English
press-choose-language = Choose your language
press-skip = Skip to content
press-languages = Language
press-menu = Menu
press-timeline-link = All updates
press-timeline-heading = All updates, newest first
press-no-updates = There are no updates yet.
# $when: date and time in Brussels
press-published = Published on { $when }
press-contact-heading = Contact
press-hospital-phone = Patients and relatives
press-press-phone = Press
press-feeds-heading = Follow the updates
press-feed-atom = Atom feed
press-feed-rss = RSS feed
press-feed-json = JSON Feed
press-feed-cap = CAP alerts (for emergency services and broadcasters)
# $hospital
press-footer = Official updates from { $hospital }. These pages do not depend on the hospital's website.
press-check-link = Check a message
press-check-title = Is this message really from us?
# $hospital
press-check-intro = Every message from { $hospital } (text message, e-mail, this website) carries a reference, like those below. Enter the reference to check that the message really comes from us.
press-check-field = Reference
press-check-button = Check
press-check-list-heading = Every reference we issued
# $hospital
press-check-list-note = A reference that is not in this list was not issued by { $hospital }.
# $reference, $hospital
press-check-genuine = The reference { $reference } belongs to a genuine message from { $hospital }.
# $reference, $hospital
press-check-not-issued = The reference { $reference } was not issued by { $hospital }.
press-check-advice = Do not click any link in that message, do not call any number it gives, and do not share personal or payment details. If in doubt, call the hospital on the number below.
# $phone
press-check-call = Call the hospital: { $phone }
press-check-again = Check another reference
press-not-found-title = Page not found
press-not-found-text = This page does not exist. Every update is on the overview page.

## Messages: the public reference on every message, and the press release in three languages
# $reference
sms-reference = Ref. { $reference }
message-check = Check that this message comes from us:
message-page = Read this message online:
telegram-invite = Follow the updates on Telegram:
sms-telegram-invite = Updates on Telegram:
message-feeds = Follow our updates:
# $feed (its name: Atom, RSS, JSON Feed, CAP), $url
message-feed = { $feed }: { $url }
# The languages in the order the press release gives them: this one first, then the others.
release-languages = This press release is given below in English, Dutch and French.

## Telegram bot: what the bot itself says in a chat, and its description in Telegram
# $hospital. Shown before someone starts the bot: at most 512 characters.
bot-description = The official updates of { $hospital } during an incident, in English, Dutch or French. Press Start to receive them here.
# $hospital. At most 120 characters.
bot-short-description = Official incident updates from { $hospital }.
# The command list Telegram shows: 3 to 256 characters each.
bot-command-start = Receive our updates here
bot-command-language = Choose your language
bot-command-status = Show the latest update
bot-command-verify = Check the reference of a message
bot-command-stop = Stop receiving our updates
bot-command-help = What this bot can do
# $hospital
bot-welcome = Welcome. You will receive the official updates of { $hospital } here when something happens that concerns you: an incident, changed appointments, the return to normal. To choose another language, send /language. To stop, send /stop.
# $hospital
bot-linked = You are connected. From now on you will receive the messages of { $hospital } about your appointments here. To stop, send /stop.
bot-already-linked = You already receive your messages from us in this chat.
# $phone: the hospital's
bot-link-expired = This link has expired. Ask us for a new one, or call us on { $phone }.
# $phone
bot-link-used = This link has already been used in another chat. A link works only once: ask us for a new one, or call us on { $phone }.
# $phone
bot-link-invalid = This link is not valid. Check that you copied it whole, or call us on { $phone }.
# $phone
bot-link-unknown = We can no longer reach anyone through this link. Please call us on { $phone }.
bot-choose-language = In which language would you like to receive our messages?
bot-language-set = From now on we will write to you in English.
bot-not-subscribed = You do not receive our updates in this chat. Send /start to receive them.
bot-stopped = You will no longer receive our updates here. To receive them again, send /start.
# $when (date and time in Brussels), $title, $reference, $url (its page in the press room)
bot-status =
    Latest update, { $when }:
    { $title }
    Reference: { $reference }
    Read it online: { $url }
bot-status-none = There has been no update so far.
# $reference, $hospital, $title, $when, $url
bot-verify-genuine = ✅ The reference { $reference } belongs to a genuine message from { $hospital }: “{ $title }”, { $when }. Read it online: { $url }
# $reference, $hospital, $phone
bot-verify-not-issued = ⚠️ The reference { $reference } was not issued by { $hospital }. Do not click any link in that message, do not call any number it gives and share no personal or payment details. In doubt, call us on { $phone }.
# $example: a reference of ours
bot-verify-usage = Send the reference printed on the message after /verify, for example: /verify { $example }
# $hospital
bot-help =
    This bot sends the official updates of { $hospital }.
    /start – receive our updates here
    /language – choose your language
    /status – the latest update
    /verify REFERENCE – check that a message comes from us
    /stop – stop receiving our updates

## The console (tocsin serve, /console). Roles: author, approver, admin.

console-nav-compose = New update
console-compose-heading = New update
console-compose-intro = Write the update once, in Dutch, French and English. A missing language blocks approval.
console-compose-failed = The draft was not saved. Please correct what is marked below; everything you typed is kept.
console-compose-start-follow = Continue an earlier update (its number)
console-compose-start-playbook = Start from an incident playbook
console-compose-blanks = Replace every [[…]] with today's facts and read every text again: the draft is refused while a blank is left.
console-compose-start = Start from it
console-compose-about = The update
console-compose-incident = Incident (a short name, e.g. cyberattack-2026-01)
console-compose-kind = Kind
console-compose-kind-alert = Alert
console-compose-kind-update = Update
console-compose-kind-cancel = Cancellation of an earlier message
console-compose-kind-allclear = All clear
console-compose-follows = Follows update no. (optional)
console-compose-appointments = What patients are told about their appointments
console-compose-outcome-cancelled = Cancelled
console-compose-outcome-postponed = Postponed
console-compose-outcome-as-planned = Going ahead as planned
console-compose-audiences = Who receives it
console-compose-audience-patients = Patients with an appointment
console-compose-audience-gps-of-affected = The GPs of these patients
console-compose-audience-all-gps = All GPs
console-compose-audience-media = The press list
console-compose-from = From (day)
console-compose-to = Up to and including (day)
console-compose-campus = Campus (optional)
console-compose-department = Department (optional)
console-compose-count = Count the recipients
console-compose-channels = Channels
console-compose-channel-sms = SMS
console-compose-channel-email = E-mail
console-compose-channel-telegram = Telegram
console-compose-texts = The texts
console-compose-title = Title
console-compose-body = Text
console-compose-sms = SMS text
console-compose-sms-gsm7 = Replace each SMS text by its GSM-7 version (fewer parts, lower cost)
console-compose-check = Check the SMS
console-compose-cap = CAP alert of the press room
console-compose-cap-urgency = Urgency
console-compose-cap-severity = Severity
console-compose-cap-certainty = Certainty
console-compose-cap-response_type = Response
console-compose-cap-default = The default for this kind
console-compose-save = Save as draft
console-compose-problem-incident = Give the incident a short name of letters, digits and dashes.
console-compose-problem-follows = Write the number of the earlier update, or leave it empty.
console-compose-problem-audiences = Tick at least one audience.
console-compose-problem-channels = Tick at least one channel.
console-compose-problem-language = The { $language } text is missing: every update is written in Dutch, French and English, and a missing language blocks approval.
console-compose-problem-empty = { $part } ({ $language }) is empty.
console-compose-counts = Recipients now, by language and by address
console-compose-col-audience = Audience
console-compose-col-contacts = People
console-compose-col-mobile = Mobile
console-compose-col-email = E-mail
console-compose-col-telegram = Telegram
console-compose-col-none = No address
console-compose-counts-none = Tick an audience to see how many people it reaches.
console-compose-counts-refused = These audiences cannot be counted:
console-compose-sms-written = As written: { $encoding }, { $characters } characters, { $parts ->
    [one] 1 part
   *[other] { $parts } parts
}.
console-compose-sms-forcing = Characters that force UCS-2:
console-compose-sms-proposal = GSM-7 version ({ $parts ->
    [one] 1 part
   *[other] { $parts } parts
}):
console-compose-sms-rendered = As recipients get it: { $messages } SMS, { $total } parts in all.
console-compose-sms-distribution = { $count } SMS of { $parts ->
    [one] 1 part
   *[other] { $parts } parts
}
console-compose-sms-longest = The longest: { $encoding }, { $characters } characters, { $parts ->
    [one] 1 part
   *[other] { $parts } parts
}:
console-compose-sms-nobody = Nobody the audiences select gets an SMS in this language yet.
console-compose-sms-empty = Write an SMS text to see what it costs.
console-test-title = Send me a test
console-test-intro = The update as a patient, a GP or a journalist would receive it, marked as a test, to your own address and nobody else's. It is not counted as a delivery; the audit log records it.
console-test-reader = Read it as
console-test-reader-patient = A patient
console-test-reader-gp = A GP
console-test-reader-journalist = A journalist
console-test-language = Language
console-test-channel = Send it by
console-test-submit = Send me the test
console-test-sent = The test is on its way to your own address.
console-test-failed = The test was not sent:
console-test-no-address = You have no e-mail address or mobile number of your own in Tocsin yet. Ask the administrator to add them (tocsin user set).
test-mark = TEST
console-compose-language-nl = Dutch
console-compose-language-fr = French
console-compose-language-en = English
console-title = Tocsin crisis console
console-skip = Skip to the content
console-nav = Console
console-nav-updates = Updates
console-nav-audit = Audit log
console-language = Language
console-signed-in-as = Signed in as { $name } ({ $role })
console-role-author = author
console-role-approver = approver
console-role-admin = administrator
console-sign-out = Sign out
console-login-title = Sign in
console-login-name = User name
console-login-password = Password
console-login-submit = Sign in
console-login-failed = Wrong user name or password.
console-login-password-set = Your password is set. You can sign in now.
console-setup-title = Choose your password
console-setup-intro = This link works once. Choose a password of at least 12 characters; a sentence you will remember is best.
console-setup-password = New password
console-setup-again = The same password again
console-setup-submit = Save my password
console-setup-mismatch = The two passwords differ. Please type them again.
console-setup-invalid = This link is not valid: it was already used, it expired, or the account was disabled. Ask the administrator for a new one.
console-setup-weak = This password cannot be used:
console-updates-title = Updates
console-updates-none = No update yet.
console-col-id = No.
console-col-title = Title
console-col-state = State
console-col-incident = Incident
console-col-author = Written by
console-col-approver = Approved by
console-col-created = Created
console-col-reference = Reference
console-state-draft = draft
console-state-approved = approved
console-state-sending = sending
console-state-sent = sent
console-state-halted = halted
console-state-discarded = discarded
console-audit-title = Audit log
console-audit-shown = The { $shown } most recent of { $total } entries. The whole log: tocsin audit export --csv FILE
console-col-at = When
console-col-user = Who
console-col-action = Action
console-col-target = On
console-col-detail = Detail
console-col-remote = From
console-error-title = That did not work
console-error-forbidden = Your role does not allow this.
console-error-csrf = This form has expired or did not come from the console. Go back, reload the page and try again.
console-error-not-found = This page does not exist.
console-error-too-many = Too many failed sign-ins. Wait { $seconds } seconds, then try again.
console-error-busy = The server is busy checking other passwords. Wait a second, then try again.
console-error-refused = This was refused:
console-error-internal = Something went wrong on the server. It has been logged; try again in a moment.
console-error-back = Back to the updates
console-watch-title = Sending of update { $id }
# Before the update's title, on its dashboard.
console-watch-heading = Sending of update { $id }:
console-watch-back = Back to update { $id }
console-watch-reload = Load the counts again
console-watch-summary = { $settled } of { $total ->
    [one] 1 delivery
   *[other] { $total } deliveries
} done ({ $percent }%)
console-watch-update-state = State of the update:
console-watch-paused = Paused, deliveries held back: { $held }. Reason:
console-watch-counts = Progress by channel, language and audience
console-watch-all = All together
console-watch-nothing-planned = Nothing is planned yet.
console-watch-failures = Failures and their reasons
console-watch-reasons-more = Other reasons, not shown: { $count } (all of them: tocsin status --json).
console-watch-no-failures = Nothing has failed so far.
console-watch-gateways = SMS gateways
console-watch-no-gateways = No SMS gateway has taken messages of this update.
console-watch-unreached = Not reached ({ $count })
console-watch-unreached-note = As the page was loaded: the people for whom no channel is left to try. The CSV is the call centre's list, as tocsin export unreached writes it.
console-watch-unreached-approvers = The list of people not reached, with their phone numbers, is shown to approvers only.
console-watch-csv = Download the list (CSV)
console-watch-unreached-more = Not shown here: { $count } more. The CSV has them all.
console-watch-fallback-title = Fallback for the people not reached
console-watch-fallback-intro = Sends the update now on the fallback channel (e-mail for patients) to everyone whose SMS did not reach them, SMS still without a delivery receipt included, without waiting for the configured delay.
console-watch-fallback-submit = Send the message now on the fallback channel to the people not reached
console-watch-fallback-approvers = Only an approver can do this.
console-watch-fallback-done = Deliveries planned on the fallback channel: { $count }.
console-col-channel = Channel
console-col-language = Language
console-col-audience = Audience
console-col-total = Total
console-col-count = Number
console-col-reason = Reason
console-col-gateway = Gateway
console-col-breaker = Circuit breaker
console-col-since = Since
console-col-last-error = Last error
console-col-name = Name
console-col-external-id = Id in the export
console-col-mobile = Mobile
console-col-phone = Phone
console-col-why = Why not reached
console-breaker-closed = working (closed)
console-breaker-open = out of use (open)
console-breaker-half-open = being tried again (half-open)
console-breaker-unknown = unknown (nothing recorded yet)
console-channel-email = E-mail
console-channel-sms = SMS
console-channel-telegram = Telegram
console-audience-patient = Patients
console-audience-gp = GPs
console-audience-journalist = Press
console-audience-staff = Staff
console-audience-public = Public (Telegram)
console-delivery-pending = waiting
console-delivery-sending = being sent
console-delivery-sent = sent
console-delivery-delivered = delivered
console-delivery-failed = failed
console-delivery-undeliverable = undeliverable
console-delivery-skipped = skipped
console-delivery-uncertain = uncertain
console-delivery-cancelled = cancelled
console-update-title = Update { $id }
# Before the update's title, on its page.
console-update-heading = Update { $id }:
console-update-kind = Kind
console-kind-alert = alert
console-kind-update = update
console-kind-cancel = cancellation
console-kind-allclear = all clear
console-update-send-at-label = To be sent at
console-update-paused = Paused
console-update-not-started = Not started
# $since: when serve first could not start it
console-update-not-started-help = Tocsin serve could not start it at its time (first: { $since }); it tries again every 5 seconds. Fix the cause with whoever runs the server, or halt the update.
console-update-watch = Follow the sending
console-update-returned-by = Sent back by { $name }:
console-update-actions = What you can do
console-update-own = You wrote this update: another approver must review it (four eyes).
console-update-approve = Approve
console-update-comment = Comment for the author (what to change)
console-update-return = Send back to the author
console-update-send-now = Send now
console-update-send-at = Or send at (Brussels time)
console-update-schedule = Send at this time
console-update-pause = Pause the sending
console-update-resume = Resume the sending
console-update-halt = Halt
console-update-halt-warning = Halting cancels every message that has not left yet. It cannot be undone.
console-update-texts = The texts
console-lang-nl = Nederlands
console-lang-fr = Français
console-lang-en = English
console-field-body = Text
console-field-sms = SMS
console-update-diff-title = What changed
console-update-diff = Compared with update { $id } ({ $reference }).
console-diff-legend = Struck through: removed; underlined: added.
console-update-diff-none = This is the first update of this incident.
console-update-unchanged = Unchanged.
console-update-audiences = Whom it reaches
console-col-contacts = Contacts
console-col-languages = By language
console-col-reachable = Reachable by
console-reach-mobile = mobile
console-reach-email = e-mail
console-reach-telegram = Telegram
console-reach-none = no address
console-update-previews = What they receive
console-update-previews-intro = For the first reader of each audience in each language, on each channel, exactly as it would be sent now.
console-preview-none = No preview in this language:
console-preview-to = to { $name } ({ $id })
console-preview-skipped = Not sent on this channel:
console-preview-subject = Subject:
console-preview-html = The e-mail's HTML (source)
console-compose-preview = Preview
console-compose-preview-intro = What a patient, a GP and a journalist of the chosen audiences receive, in each language and on each channel, exactly as it would be sent now. It follows what you type; the reference is given when the draft is saved.
console-compose-preview-button = Preview
console-compose-preview-ask = Press "Preview" to see what they receive.
console-compose-preview-refused = The draft cannot be saved like this yet:
console-compose-preview-blanks = { $language }, { $part }: still to write: { $blanks }
console-compose-preview-no-audience = Tick an audience to see what its readers receive.
console-compose-preview-audience = An audience cannot be read: { $reason }
console-compose-preview-no-channel = Tick a channel.
console-update-reviews = Reviews
console-reviews-none = No review yet.
console-col-verdict = Verdict
console-col-comment = Comment
console-verdict-approved = approved
console-verdict-returned = sent back
console-update-history = History
console-done-approved = Approved. It can be sent now or at a time.
console-done-returned = Sent back to the author with your comment.
console-done-send-now = Marked to be sent: sending starts within seconds.
console-done-scheduled = Scheduled: sending starts at the chosen time.
console-done-paused = Paused: what has not left waits until you resume.
console-done-resumed = Resumed: the messages held back are being sent.
console-done-halted = Halted: every message that had not left is cancelled.
