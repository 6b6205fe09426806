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
console-error-refused = This was refused:
console-error-internal = Something went wrong on the server. It has been logged; try again in a moment.
console-error-back = Back to the updates
console-update-title = Update { $id }
console-update-kind = Kind
console-kind-alert = alert
console-kind-update = update
console-kind-cancel = cancellation
console-kind-allclear = all clear
console-update-send-at-label = To be sent at
console-update-paused = Paused
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
console-col-audience = Audience
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
console-channel-email = E-mail
console-channel-sms = SMS
console-channel-telegram = Telegram
console-preview-skipped = Not sent on this channel:
console-preview-subject = Subject:
console-preview-html = The e-mail's HTML (source)
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
