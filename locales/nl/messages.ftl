# Fixed phrases of every message, in Dutch (Belgium).
# A locales_dir in the configuration may replace this file (see README, "Changing a sentence").
# Variables each message is given are listed above it; the check at start refuses a message
# that uses another one.

## Dates and times: chrono strftime patterns, read by Tocsin's date formatter.
date-format = %A %-d %B %Y
time-format = %-H.%M uur
# $date, $time
datetime = { $date } om { $time }
# The SMS's short form: "di 13/01 9u30".
sms-date-format = %a %d/%m
sms-time-format = %-Hu%M
# $date, $time
sms-datetime = { $date } { $time }

## E-mail
# $hospital, $title
email-subject = { $hospital } – { $title }
# $when
email-updated = Verzonden op { $when }

## Greetings: $name is the contact's full name.
greeting-patients = Beste { $name },
greeting-gps = Geachte collega,
greeting-media = Beste { $name },
# A contact without a name.
greeting-unnamed = Geachte mevrouw, geachte heer,

## Appointments: $when, $department, $campus (as campus-name writes it).
appointment-cancelled = Uw afspraak van { $when } bij de dienst { $department } ({ $campus }) gaat niet door.
appointment-postponed = Uw afspraak van { $when } bij de dienst { $department } ({ $campus }) wordt uitgesteld.
appointment-as-planned = Uw afspraak van { $when } bij de dienst { $department } ({ $campus }) gaat door zoals gepland.
# $campus
campus-name = campus { $campus }
# $count: the patient's appointments in this message.
what-to-do-cancelled = Kom niet naar het ziekenhuis voor { $count ->
        [one] deze afspraak
       *[other] deze afspraken
    }. U hoeft niets te doen: wij nemen contact met u op voor een nieuwe afspraak. Hebt u dringend zorg nodig? Bel uw huisarts of, 's avonds en in het weekend, de huisartsenwachtdienst op 1733. Bij levensgevaar: bel 112.
what-to-do-postponed = Kom niet naar het ziekenhuis voor { $count ->
        [one] deze afspraak
       *[other] deze afspraken
    }. U hoeft niets te doen: wij nemen contact met u op om een nieuwe datum af te spreken. Hebt u dringend zorg nodig? Bel uw huisarts of, 's avonds en in het weekend, de huisartsenwachtdienst op 1733. Bij levensgevaar: bel 112.
what-to-do-as-planned = Kom zoals gepland naar uw { $count ->
        [one] afspraak
       *[other] afspraken
    }.

## SMS: short, and only GSM-7 characters, so that a message takes as few parts as possible.
# $hospital (the short name)
sms-sender = { $hospital }:
# $when (the short form), $department
sms-appointment-cancelled = Uw afspraak van { $when } ({ $department }) gaat niet door.
sms-appointment-postponed = Uw afspraak van { $when } ({ $department }) wordt uitgesteld.
sms-appointment-as-planned = Uw afspraak van { $when } ({ $department }) gaat gewoon door.
# $phone
sms-what-to-do-cancelled = Kom niet naar het ziekenhuis. Vragen? Bel { $phone }.
sms-what-to-do-postponed = Kom niet naar het ziekenhuis, wij bellen u voor een nieuwe datum. Vragen? Bel { $phone }.
sms-what-to-do-as-planned = Kom zoals gepland. Vragen? Bel { $phone }.
sms-questions = Vragen? Bel { $phone }.
sms-media-contact = Pers: { $phone }.

## GPs: the list of a GP's patients says what the update says of their appointments.
gps-intro = Dit bericht is bestemd voor huisartsen.
gps-affected-intro-cancelled = De volgende afspraken van uw patiënten gaan niet door:
gps-affected-intro-postponed = De volgende afspraken van uw patiënten worden uitgesteld:
gps-affected-intro-as-planned = De volgende afspraken van uw patiënten gaan door zoals gepland:
# $when, $department, $campus
gp-patient-appointment = { $when }, { $department }, { $campus }
# $date
gp-patient-born = °{ $date }

## Press
media-label = PERSBERICHT
# $phone (the press line), $url
media-contact = Perscontact: { $phone }. Meer informatie: { $url }

## Closing
# $phone, $url
questions = Vragen? Bel { $phone } of kijk op { $url }
# $hospital
signature = De crisiscel van { $hospital }
footer-patients = U ontvangt dit bericht omdat u een afspraak hebt bij { $hospital }.
footer-gps = U ontvangt dit bericht als huisarts in het werkingsgebied van { $hospital }.
footer-media = U ontvangt dit bericht omdat u op de perslijst van { $hospital } staat.

## Press room: the public pages and feeds (shared by pages and feeds)
# $hospital
press-title = { $hospital }: berichten over de crisis
press-kind-alert = Waarschuwing
press-kind-update = Update
press-kind-cancel = Intrekking
press-kind-allclear = Einde van de crisis
press-withdrawn = De verzending van dit bericht werd stopgezet.
# $reference
press-reference = Referentie: { $reference }

## Press room: the feeds (Atom, RSS, JSON Feed) and the CAP alerts
# $hospital
press-feed-description = De officiële berichten van { $hospital } tijdens de crisis, de nieuwste eerst. Controleer de referentie van een bericht op deze site.
# $kind (press-kind-*), $title (the update's)
press-feed-entry-title = { $kind }: { $title }
# $hospital
press-cap-title = { $hospital }: CAP-waarschuwingen (nl, fr, en)
# $phone: the press line, as a CAP alert's contact.
press-cap-contact = Pers: { $phone }

## Press room: the public pages
# Each language's name in that language, for the language switcher and the headings of the
# press release's parts.
press-language-name = Nederlands
press-choose-language = Kies uw taal
press-skip = Naar de inhoud
press-languages = Taal
press-menu = Menu
press-timeline-link = Alle berichten
press-timeline-heading = Alle berichten, het nieuwste eerst
press-no-updates = Er zijn nog geen berichten.
# $when: date and time in Brussels
press-published = Gepubliceerd op { $when }
press-contact-heading = Contact
press-hospital-phone = Patiënten en familie
press-press-phone = Pers
press-feeds-heading = Volg de berichten
press-feed-atom = Atom-feed
press-feed-rss = RSS-feed
press-feed-json = JSON Feed
press-feed-cap = CAP-waarschuwingen (voor hulpdiensten en omroepen)
# $hospital
press-footer = Officiële berichten van { $hospital }. Deze pagina's staan los van de website van het ziekenhuis.
press-check-link = Een bericht controleren
press-check-title = Komt dit bericht echt van ons?
# $hospital
press-check-intro = Elk bericht van { $hospital } (sms, e-mail, deze website) draagt een referentie, zoals hieronder. Vul de referentie in om na te gaan of het bericht echt van ons komt.
press-check-field = Referentie
press-check-button = Controleren
press-check-list-heading = Alle referenties die wij uitgaven
# $hospital
press-check-list-note = Een referentie die niet in deze lijst staat, werd niet door { $hospital } uitgegeven.
# $reference, $hospital
press-check-genuine = De referentie { $reference } hoort bij een echt bericht van { $hospital }.
# $reference, $hospital
press-check-not-issued = De referentie { $reference } werd niet door { $hospital } uitgegeven.
press-check-advice = Klik niet op links in dat bericht, bel geen nummers die erin staan en geef geen persoonlijke gegevens of betaalgegevens door. Twijfelt u, bel dan het ziekenhuis op het nummer hieronder.
# $phone
press-check-call = Bel het ziekenhuis: { $phone }
press-check-again = Een andere referentie controleren
press-not-found-title = Pagina niet gevonden
press-not-found-text = Deze pagina bestaat niet. Alle berichten staan op de overzichtspagina.

## Messages: the public reference on every message, and the press release in three languages
# $reference
sms-reference = Ref. { $reference }
message-check = Controleer of dit bericht van ons komt:
message-page = Lees dit bericht online:
telegram-invite = Volg de updates op Telegram:
sms-telegram-invite = Updates via Telegram:
message-feeds = Volg onze berichten:
# $feed (its name: Atom, RSS, JSON Feed, CAP), $url
message-feed = { $feed }: { $url }
# The languages in the order the press release gives them: this one first, then the others.
release-languages = U leest dit persbericht hieronder in het Nederlands, het Frans en het Engels.

## Telegram bot: what the bot itself says in a chat, and its description in Telegram
# $hospital. Shown before someone starts the bot: at most 512 characters.
bot-description = De officiële berichten van { $hospital } bij een incident, in het Nederlands, het Frans of het Engels. Druk op Start om ze hier te ontvangen.
# $hospital. At most 120 characters.
bot-short-description = Officiële berichten van { $hospital } bij een incident.
# The command list Telegram shows: 3 to 256 characters each.
bot-command-start = Onze berichten hier ontvangen
bot-command-language = Uw taal kiezen
bot-command-status = Het laatste bericht tonen
bot-command-verify = De referentie van een bericht controleren
bot-command-stop = Geen berichten meer ontvangen
bot-command-help = Wat deze bot doet
# $hospital
bot-welcome = Welkom. U ontvangt hier de officiële berichten van { $hospital } wanneer er iets gebeurt dat u aanbelangt: een incident, gewijzigde afspraken, de terugkeer naar normaal. Stuur /taal om een andere taal te kiezen, of /stop om geen berichten meer te ontvangen.
# $hospital
bot-linked = U bent verbonden. Vanaf nu ontvangt u hier de berichten van { $hospital } over uw afspraken. Stuur /stop om geen berichten meer te ontvangen.
bot-already-linked = U ontvangt uw berichten van ons al in dit gesprek.
# $phone: the hospital's
bot-link-expired = Deze link is verlopen. Vraag ons een nieuwe, of bel ons op { $phone }.
# $phone
bot-link-used = Deze link werd al in een ander gesprek gebruikt. Een link werkt maar één keer: vraag ons een nieuwe, of bel ons op { $phone }.
# $phone
bot-link-invalid = Deze link is niet geldig. Controleer of u hem volledig hebt gekopieerd, of bel ons op { $phone }.
# $phone
bot-link-unknown = Via deze link kunnen we niemand meer bereiken. Bel ons op { $phone }.
bot-choose-language = In welke taal wilt u onze berichten ontvangen?
bot-language-set = Vanaf nu schrijven we u in het Nederlands.
bot-not-subscribed = U ontvangt onze berichten niet in dit gesprek. Stuur /start om ze te ontvangen.
bot-stopped = U ontvangt hier geen berichten meer van ons. Stuur /start om ze opnieuw te ontvangen.
# $when (date and time in Brussels), $title, $reference, $url (its page in the press room)
bot-status =
    Laatste bericht, { $when }:
    { $title }
    Referentie: { $reference }
    Online lezen: { $url }
bot-status-none = Er is nog geen bericht verschenen.
# $reference, $hospital, $title, $when, $url
bot-verify-genuine = ✅ De referentie { $reference } hoort bij een echt bericht van { $hospital }: “{ $title }”, { $when }. Online lezen: { $url }
# $reference, $hospital, $phone
bot-verify-not-issued = ⚠️ De referentie { $reference } werd niet door { $hospital } uitgegeven. Klik op geen enkele link in dat bericht, bel geen nummer dat erin staat en geef geen persoonlijke of betaalgegevens. Twijfelt u? Bel ons op { $phone }.
# $example: a reference of ours
bot-verify-usage = Stuur na /verify de referentie die op het bericht staat, bijvoorbeeld: /verify { $example }
# $hospital
bot-help =
    Deze bot stuurt de officiële berichten van { $hospital }.
    /start – onze berichten hier ontvangen
    /taal – uw taal kiezen
    /status – het laatste bericht
    /verify REFERENTIE – controleren of een bericht van ons komt
    /stop – geen berichten meer ontvangen

## De console (tocsin serve, /console). Rollen: author, approver, admin.

console-nav-compose = Nieuw bericht
console-compose-heading = Nieuw bericht
console-compose-intro = Schrijf het bericht één keer, in het Nederlands, Frans en Engels. Ontbreekt er een taal, dan kan het niet worden goedgekeurd.
console-compose-failed = Het ontwerp is niet bewaard. Verbeter wat hieronder is aangeduid; alles wat u typte, blijft staan.
console-compose-start-follow = Verder op een eerder bericht (het nummer)
console-compose-start-playbook = Beginnen met een draaiboek voor een incident
console-compose-blanks = Vervang elke [[…]] door de feiten van vandaag en lees elke tekst opnieuw: zolang er een open plek overblijft, wordt het ontwerp geweigerd.
console-compose-start = Daarmee beginnen
console-compose-about = Het bericht
console-compose-incident = Incident (een korte naam, bv. cyberattack-2026-01)
console-compose-kind = Soort
console-compose-kind-alert = Alarm
console-compose-kind-update = Update
console-compose-kind-cancel = Intrekking van een eerder bericht
console-compose-kind-allclear = Einde alarm
console-compose-follows = Volgt op bericht nr. (niet verplicht)
console-compose-appointments = Wat patiënten over hun afspraken horen
console-compose-outcome-cancelled = Geannuleerd
console-compose-outcome-postponed = Uitgesteld
console-compose-outcome-as-planned = Gaat door zoals gepland
console-compose-audiences = Wie het ontvangt
console-compose-audience-patients = Patiënten met een afspraak
console-compose-audience-gps-of-affected = De huisartsen van deze patiënten
console-compose-audience-all-gps = Alle huisartsen
console-compose-audience-media = De perslijst
console-compose-from = Van (dag)
console-compose-to = Tot en met (dag)
console-compose-campus = Campus (niet verplicht)
console-compose-department = Dienst (niet verplicht)
console-compose-count = Ontvangers tellen
console-compose-channels = Kanalen
console-compose-channel-sms = Sms
console-compose-channel-email = E-mail
console-compose-channel-telegram = Telegram
console-compose-texts = De teksten
console-compose-title = Titel
console-compose-body = Tekst
console-compose-sms = Sms-tekst
console-compose-sms-gsm7 = Elke sms-tekst vervangen door de GSM-7-versie (minder delen, goedkoper)
console-compose-check = Sms controleren
console-compose-cap = CAP-melding van de perskamer
console-compose-cap-urgency = Dringendheid
console-compose-cap-severity = Ernst
console-compose-cap-certainty = Zekerheid
console-compose-cap-response_type = Gevraagde reactie
console-compose-cap-default = Standaard voor deze soort
console-compose-save = Als ontwerp bewaren
console-compose-problem-incident = Geef het incident een korte naam van letters, cijfers en streepjes.
console-compose-problem-follows = Vul het nummer van het eerdere bericht in, of laat het leeg.
console-compose-problem-audiences = Vink minstens één doelgroep aan.
console-compose-problem-channels = Vink minstens één kanaal aan.
console-compose-problem-language = De tekst in het { $language } ontbreekt: elk bericht wordt in het Nederlands, Frans en Engels geschreven, en zonder een van die talen kan het niet worden goedgekeurd.
console-compose-problem-empty = { $part } ({ $language }) is leeg.
console-compose-counts = Ontvangers nu, per taal en per adres
console-compose-col-audience = Doelgroep
console-compose-col-contacts = Personen
console-compose-col-mobile = Gsm
console-compose-col-email = E-mail
console-compose-col-telegram = Telegram
console-compose-col-none = Geen adres
console-compose-counts-none = Vink een doelgroep aan om te zien hoeveel mensen ze bereikt.
console-compose-counts-refused = Deze doelgroepen kunnen niet worden geteld:
console-compose-sms-written = Zoals geschreven: { $encoding }, { $characters } tekens, { $parts ->
    [one] 1 deel
   *[other] { $parts } delen
}.
console-compose-sms-forcing = Tekens die UCS-2 afdwingen:
console-compose-sms-proposal = GSM-7-versie ({ $parts ->
    [one] 1 deel
   *[other] { $parts } delen
}):
console-compose-sms-rendered = Zoals ontvangers ze krijgen: { $messages ->
    [one] 1 sms
   *[other] { $messages } sms'en
}, { $total ->
    [one] 1 deel
   *[other] { $total } delen
} in totaal.
console-compose-sms-distribution = { $count ->
    [one] 1 sms
   *[other] { $count } sms'en
} van { $parts ->
    [one] 1 deel
   *[other] { $parts } delen
}
console-compose-sms-longest = De langste: { $encoding }, { $characters } tekens, { $parts ->
    [one] 1 deel
   *[other] { $parts } delen
}:
console-compose-sms-nobody = Niemand van de gekozen doelgroepen krijgt al een sms in deze taal.
console-compose-sms-empty = Schrijf een sms-tekst om te zien wat hij kost.
console-test-title = Stuur mij een test
console-test-intro = Het bericht zoals een patiënt, een huisarts of een journalist het zou krijgen, gemarkeerd als test, naar uw eigen adres en naar niemand anders. Het telt niet als verzending; het auditlogboek houdt het bij.
console-test-reader = Lezen als
console-test-reader-patient = Een patiënt
console-test-reader-gp = Een huisarts
console-test-reader-journalist = Een journalist
console-test-language = Taal
console-test-channel = Versturen via
console-test-submit = Stuur mij de test
console-test-sent = De test is onderweg naar uw eigen adres.
console-test-failed = De test is niet verstuurd:
console-test-no-address = U hebt nog geen eigen e-mailadres of gsm-nummer in Tocsin. Vraag de beheerder om ze toe te voegen (tocsin user set).
test-mark = TEST
console-compose-language-nl = Nederlands
console-compose-language-fr = Frans
console-compose-language-en = Engels
console-title = Tocsin crisisconsole
console-skip = Naar de inhoud
console-nav = Console
console-nav-updates = Berichten
console-nav-audit = Auditlog
console-language = Taal
console-signed-in-as = Aangemeld als { $name } ({ $role })
console-role-author = auteur
console-role-approver = goedkeurder
console-role-admin = beheerder
console-sign-out = Afmelden
console-login-title = Aanmelden
console-login-name = Gebruikersnaam
console-login-password = Wachtwoord
console-login-submit = Aanmelden
console-login-failed = Verkeerde gebruikersnaam of verkeerd wachtwoord.
console-login-password-set = Uw wachtwoord is ingesteld. U kunt zich nu aanmelden.
console-setup-title = Kies uw wachtwoord
console-setup-intro = Deze link werkt één keer. Kies een wachtwoord van minstens 12 tekens; een zin die u onthoudt, werkt het best.
console-setup-password = Nieuw wachtwoord
console-setup-again = Nogmaals hetzelfde wachtwoord
console-setup-submit = Wachtwoord opslaan
console-setup-mismatch = De twee wachtwoorden verschillen. Typ ze opnieuw.
console-setup-invalid = Deze link is niet geldig: hij werd al gebruikt, is verlopen, of het account werd uitgeschakeld. Vraag de beheerder om een nieuwe.
console-setup-weak = Dit wachtwoord kan niet worden gebruikt:
console-updates-title = Berichten
console-updates-none = Nog geen berichten.
console-col-id = Nr.
console-col-title = Titel
console-col-state = Status
console-col-incident = Incident
console-col-author = Geschreven door
console-col-approver = Goedgekeurd door
console-col-created = Aangemaakt
console-col-reference = Referentie
console-state-draft = ontwerp
console-state-approved = goedgekeurd
console-state-sending = wordt verstuurd
console-state-sent = verstuurd
console-state-halted = stopgezet
console-state-discarded = geschrapt
console-audit-title = Auditlog
console-audit-shown = De { $shown } recentste van { $total } regels. Het volledige log: tocsin audit export --csv BESTAND
console-col-at = Wanneer
console-col-user = Wie
console-col-action = Handeling
console-col-target = Op
console-col-detail = Details
console-col-remote = Vanaf
console-error-title = Dat is niet gelukt
console-error-forbidden = Uw rol laat dit niet toe.
console-error-csrf = Dit formulier is verlopen of kwam niet van de console. Ga terug, laad de pagina opnieuw en probeer het nog eens.
console-error-not-found = Deze pagina bestaat niet.
console-error-too-many = Te veel mislukte aanmeldingen. Wacht { $seconds } seconden en probeer het dan opnieuw.
console-error-busy = De server controleert nu andere wachtwoorden. Wacht een seconde en probeer het dan opnieuw.
console-error-refused = Dit werd geweigerd:
console-error-internal = Er liep iets mis op de server. Dat werd gelogd; probeer het zo dadelijk opnieuw.
console-error-back = Terug naar de berichten
console-watch-title = Verzending van bericht { $id }
# Before the update's title, on its dashboard.
console-watch-heading = Verzending van bericht { $id }:
console-watch-back = Terug naar bericht { $id }
console-watch-reload = De cijfers opnieuw laden
console-watch-summary = { $settled } van { $total ->
    [one] 1 verzending
   *[other] { $total } verzendingen
} afgehandeld ({ $percent }%)
console-watch-update-state = Status van het bericht:
console-watch-paused = Gepauzeerd, tegengehouden verzendingen: { $held }. Reden:
console-watch-counts = Voortgang per kanaal, taal en doelgroep
console-watch-all = Alles samen
console-watch-nothing-planned = Er is nog niets gepland.
console-watch-failures = Mislukte verzendingen en hun reden
console-watch-reasons-more = Andere redenen, niet getoond: { $count } (allemaal: tocsin status --json).
console-watch-no-failures = Tot nu toe is niets mislukt.
console-watch-gateways = Sms-gateways
console-watch-no-gateways = Geen enkele sms-gateway heeft berichten van deze verzending aangenomen.
console-watch-unreached = Niet bereikt ({ $count })
console-watch-unreached-note = Zoals bij het laden van de pagina: de personen voor wie geen kanaal meer overblijft. De CSV is de lijst voor het callcenter, zoals tocsin export unreached ze schrijft.
console-watch-unreached-approvers = De lijst van wie niet bereikt werd, met de telefoonnummers, is alleen zichtbaar voor goedkeurders.
console-watch-csv = De lijst downloaden (CSV)
console-watch-unreached-more = Hier niet getoond: nog { $count }. De CSV bevat ze allemaal.
console-watch-fallback-title = Terugvalkanaal voor wie niet bereikt is
console-watch-fallback-intro = Verstuurt het bericht nu via het terugvalkanaal (e-mail voor patiënten) naar iedereen die de sms niet bereikte, ook als er nog geen ontvangstbevestiging is, zonder de ingestelde wachttijd af te wachten.
console-watch-fallback-submit = Het bericht nu via het terugvalkanaal versturen naar wie niet bereikt is
console-watch-fallback-approvers = Alleen een goedkeurder kan dit doen.
console-watch-fallback-done = Verzendingen gepland via het terugvalkanaal: { $count }.
console-col-channel = Kanaal
console-col-language = Taal
console-col-audience = Doelgroep
console-col-total = Totaal
console-col-count = Aantal
console-col-reason = Reden
console-col-gateway = Gateway
console-col-breaker = Automatische onderbreking van de gateway
console-col-since = Sinds
console-col-last-error = Laatste fout
console-col-name = Naam
console-col-external-id = Id in de export
console-col-mobile = Gsm
console-col-phone = Telefoon
console-col-why = Waarom niet bereikt
console-breaker-closed = werkt (gesloten)
console-breaker-open = buiten gebruik (open)
console-breaker-half-open = wordt opnieuw geprobeerd (half open)
console-breaker-unknown = onbekend (nog niets geregistreerd)
console-channel-email = E-mail
console-channel-sms = Sms
console-channel-telegram = Telegram
console-audience-patient = Patiënten
console-audience-gp = Huisartsen
console-audience-journalist = Pers
console-audience-staff = Personeel
console-audience-public = Publiek (Telegram)
console-delivery-pending = wacht
console-delivery-sending = wordt verstuurd
console-delivery-sent = verstuurd
console-delivery-delivered = afgeleverd
console-delivery-failed = mislukt
console-delivery-undeliverable = onbestelbaar
console-delivery-skipped = overgeslagen
console-delivery-uncertain = onzeker
console-delivery-cancelled = geannuleerd
console-update-title = Bericht { $id }
# Before the update's title, on its page.
console-update-heading = Bericht { $id }:
console-update-kind = Soort
console-kind-alert = alarm
console-kind-update = update
console-kind-cancel = annulering
console-kind-allclear = einde alarm
console-update-send-at-label = Wordt verstuurd op
console-update-paused = Gepauzeerd
console-update-not-started = Niet gestart
# $since: when serve first could not start it
console-update-not-started-help = Tocsin serve kon de update op het geplande tijdstip niet starten (voor het eerst: { $since }); het probeert het elke 5 seconden opnieuw. Los de oorzaak op met wie de server beheert, of stop de update.
console-update-watch = Volg de verzending
console-update-returned-by = Teruggestuurd door { $name }:
console-update-actions = Wat u kunt doen
console-update-own = U schreef dit bericht: een andere goedkeurder moet het nakijken (vier ogen).
console-update-approve = Goedkeuren
console-update-comment = Opmerking voor de auteur (wat moet er anders)
console-update-return = Terugsturen naar de auteur
console-update-send-now = Nu versturen
console-update-send-at = Of versturen op (Belgische tijd)
console-update-schedule = Op dit tijdstip versturen
console-update-pause = Verzending pauzeren
console-update-resume = Verzending hervatten
console-update-halt = Stopzetten
console-update-halt-warning = Stopzetten annuleert elk bericht dat nog niet vertrokken is. Dat kan niet ongedaan worden gemaakt.
console-update-texts = De teksten
console-lang-nl = Nederlands
console-lang-fr = Français
console-lang-en = English
console-field-body = Tekst
console-field-sms = Sms
console-update-diff-title = Wat er veranderde
console-update-diff = Vergeleken met bericht { $id } ({ $reference }).
console-diff-legend = Doorgehaald: geschrapt; onderstreept: toegevoegd.
console-update-diff-none = Dit is het eerste bericht over dit incident.
console-update-unchanged = Ongewijzigd.
console-update-audiences = Wie het bereikt
console-col-contacts = Contacten
console-col-languages = Per taal
console-col-reachable = Bereikbaar via
console-reach-mobile = gsm
console-reach-email = e-mail
console-reach-telegram = Telegram
console-reach-none = geen adres
console-update-previews = Wat zij ontvangen
console-update-previews-intro = Voor de eerste lezer van elke doelgroep in elke taal, per kanaal, precies zoals het nu verstuurd zou worden.
console-preview-none = Geen voorbeeld in deze taal:
console-preview-to = aan { $name } ({ $id })
console-preview-skipped = Niet verstuurd via dit kanaal:
console-preview-subject = Onderwerp:
console-preview-html = De HTML van de e-mail (bron)
console-compose-preview = Voorbeeld
console-compose-preview-intro = Wat een patiënt, een huisarts en een journalist uit de gekozen doelgroepen ontvangen, in elke taal en via elk kanaal, precies zoals het nu verstuurd zou worden. Het volgt wat u typt; de referentie wordt toegekend wanneer het ontwerp bewaard wordt.
console-compose-preview-button = Voorbeeld tonen
console-compose-preview-ask = Klik op "Voorbeeld tonen" om te zien wat zij ontvangen.
console-compose-preview-refused = Zo kan het ontwerp nog niet bewaard worden:
console-compose-preview-blanks = { $language }, { $part }: nog in te vullen: { $blanks }
console-compose-preview-no-audience = Vink een doelgroep aan om te zien wat die ontvangt.
console-compose-preview-audience = Een doelgroep is onleesbaar: { $reason }
console-compose-preview-no-channel = Vink een kanaal aan.
console-update-reviews = Beoordelingen
console-reviews-none = Nog geen beoordeling.
console-col-verdict = Oordeel
console-col-comment = Opmerking
console-verdict-approved = goedgekeurd
console-verdict-returned = teruggestuurd
console-update-history = Geschiedenis
console-done-approved = Goedgekeurd. U kunt het nu of op een gekozen tijdstip versturen.
console-done-returned = Met uw opmerking teruggestuurd naar de auteur.
console-done-send-now = Klaar om te versturen: de verzending begint binnen enkele seconden.
console-done-scheduled = Ingepland: de verzending begint op het gekozen tijdstip.
console-done-paused = Gepauzeerd: wat nog niet vertrokken is, wacht tot u hervat.
console-done-resumed = Hervat: de tegengehouden berichten worden verstuurd.
console-done-halted = Stopgezet: elk bericht dat nog niet vertrokken was, is geannuleerd.
