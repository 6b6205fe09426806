# De eigen zinnen van de opdrachtregel, in het Nederlands: overzichten, vragen en fouten.
# Niet de berichten aan de ontvangers (die staan in messages.ftl). Ingebouwd in het programma.
# Boven elk bericht staan de variabelen die het krijgt; een test en de controle bij de start
# weigeren een bericht dat een andere gebruikt. Aantallen ($count en dergelijke) zijn getallen:
# Tocsin groepeert de duizendtallen zoals de taal ze schrijft (12.345); nummers, bestanden en
# namen zijn tekst. Een regel die de opdrachtregel inspringt, krijgt dat inspringen van de
# code: Fluent laat spaties vooraan weg.

## Notaties (chrono strftime-patronen)
cli-date-format = %d/%m/%Y
# Een tijdstip, in de tijdzone van het ziekenhuis.
cli-datetime-format = %d/%m/%Y om %-H.%M uur

## Het kader van elke fout en waarschuwing
# $message
error-line = fout: { $message }
# $label, $value: "sms: 43", a label and what it labels
labelled = { $label }: { $value }
# $message, $cause: an error and what caused it
error-cause = { $message }: { $cause }
# $message
warning-line = LET OP: { $message }
# $value
warning-unknown-language = let op: TOCSIN_LANG={ $value } is geen taal van de opdrachtregel (nl, fr of en): Tocsin antwoordt in het Engels
# $reason
error-runtime = kan de runtime niet starten: { $reason }
# $reason
error-stdout = kan niet naar de standaarduitvoer schrijven: { $reason }
# $url
error-database = database { $url }
# $path, $reason
error-read = kan { $path } niet lezen: { $reason }
# $path
error-create = kan { $path } niet aanmaken
error-io-not-found = dat bestand of die map bestaat niet
error-io-permission = geen toegang
error-io-directory = dat is een map
# $id
error-update-not-found = update { $id } bestaat niet (tocsin update list toont ze)
# $id, $author
error-same-author = update { $id } is geschreven door { $author }: een tweede persoon moet ze goedkeuren (vier ogen)
# $id, $state
error-not-draft = update { $id } heeft de status ‘{ $state }’; alleen een ontwerp kan worden goedgekeurd
# $id
error-not-approved = update { $id } is een ontwerp: een tweede persoon moet ze goedkeuren voor ze wordt verstuurd
# $file, $reason
error-unreadable = { $file }: { $reason }; er is niets geïmporteerd
# $file
error-draft-not-stored = { $file } is niet opgeslagen:
# $action, $file
error-placeholders = Tocsin weigert { $action }: de berichten zouden de voorbeeldgegevens van een ziekenhuis dragen, niet de uwe. Pas het volgende aan in { $file }:
error-placeholders-no-file = tocsin.toml (er staat er geen in de werkmap; of geef --config BESTAND)
# $section, $key
error-placeholder-empty = [{ $section }] { $key } is leeg
# $section, $key, $value
error-placeholder-example = [{ $section }] { $key } is nog het voorbeeld "{ $value }"
error-placeholders-check = `tocsin check` toont alles wat de configuratie zal doen.
action-draft = een update als ontwerp op te slaan
action-approve = een update goed te keuren
action-send = een update te versturen
action-press-export = de perskamer te exporteren
action-serve = tocsin serve te starten
action-worker = tocsin worker te starten
# $count
error-check-problems = nog { $count ->
        [one] { $count } punt
       *[other] { $count } punten
    } op te lossen voordat tocsin kan versturen

## tocsin check: its verdict
check-warnings = Waarschuwingen:
check-nothing-missing = Er ontbreekt niets: updates kunnen worden opgesteld en verstuurd.
check-missing = Ontbreekt of is fout (tocsin weigert te versturen tot het is opgelost):

## Serve
# $address
serve-receipts = Ontvangstbevestigingen komen binnen op http://{ $address }/receipts/… (Ctrl-C om te stoppen)
# $address
serve-press = Perskamer op http://{ $address }/
# $address
serve-console = Console voor de woordvoerder en de crisiscel op http://{ $address }/console
serve-no-dispatch = Hier wordt niets verzonden: tocsin worker-processen verzenden (alleen ontvangstbevestigingen, perskamer en console)

## Worker
worker-started = De updates in verzending worden verzonden, samen met alle andere workers op deze database (Ctrl-C om te stoppen)
# $sent, $finished
worker-stopped = Gestopt: { $finished ->
        [one] { $finished } bezorging
       *[other] { $finished } bezorgingen
    } afgehandeld door deze worker, waarvan { $sent } verzonden

## Migrate
# $version, $description
migrate-done = Het schema van de database is bijgewerkt: versie { $version } ({ $description })

## Afmeldingen
# $contact, $channel
optout-added = { $contact }: afgemeld voor { $channel }
# $contact, $channel
optout-already = { $contact }: was al afgemeld voor { $channel }
# $contact, $channel
optout-removed = { $contact }: krijgt opnieuw berichten via { $channel }
# $contact, $channel
optout-not-there = { $contact }: was niet afgemeld voor { $channel }

## Doelgroepen
# $spec, $count
audience-contacts = { $spec }: { $count ->
        [one] { $count } contact
       *[other] { $count } contacten
    }
# $list: "nl 12, fr 3"
audience-by-language = per taal: { $list }
# $list
audience-reachable = bereikbaar via: { $list }

## Exporten
# $count, $file
export-unreached-written = { $count ->
        [one] { $count } onbereikt contact
       *[other] { $count } onbereikte contacten
    } geschreven naar { $file }
# $count, $file
audit-written = { $count ->
        [one] { $count } regel
       *[other] { $count } regels
    } van het auditlogboek geschreven naar { $file }
# $dir, $written, $unchanged, $removed
press-export-summary = { $dir }: { $written ->
        [one] { $written } bestand
       *[other] { $written } bestanden
    } geschreven, { $unchanged } ongewijzigd, { $removed } verwijderd
# $path
press-export-removed = verwijderd: { $path }

## update draft
# $id, $kind, $author
draft-stored = Update { $id } opgeslagen als ontwerp ({ $kind }, door { $author }).
draft-sms-heading = De sms-teksten zoals geschreven:
# $language, $encoding, $parts, $units
draft-sms-language = [{ $language }]: { $encoding }, { $parts ->
        [one] { $parts } deel
       *[other] { $parts } delen
    }, { $units ->
        [one] { $units } teken
       *[other] { $units } tekens
    }
# $chars
draft-forced-ucs2 = UCS-2 nodig door: { $chars }
# $parts, $proposal
draft-gsm7-version = GSM-7-versie ({ $parts ->
        [one] { $parts } deel
       *[other] { $parts } delen
    }): { $proposal }
draft-gsm7-hint = sla het ontwerp opnieuw op met --sms-gsm7 om ze te gebruiken
# $id
draft-next = Volgende stap: tocsin update preview { $id } [--language nl|fr|en], dan tocsin update approve { $id } --by NAAM   (iemand anders dan de auteur)
forecast-heading = Wie ze nu bereikt (zoals tocsin update send het zou plannen):
# $spec, $count
forecast-audience = { $spec }: { $count ->
        [one] { $count } contact
       *[other] { $count } contacten
    }
# $count
forecast-shared = ; nog { $count } meegeteld onder een eerdere doelgroep
# $list
forecast-skipped = overgeslagen: { $list }
# $count
forecast-unreachable = via geen enkel kanaal bereikbaar: { $count } (de lijst voor het callcenter)
forecast-sms-heading = Sms'en zoals de ontvangers ze krijgen (afzender, hun eigen afspraken), delen per bericht:
# $messages, $parts: "12 met 2 delen"
forecast-sms-parts = { $messages } met { $parts ->
        [one] { $parts } deel
       *[other] { $parts } delen
    }
# $language, $messages, $distribution, $parts
forecast-sms-language = [{ $language }] { $messages } sms: { $distribution } = { $parts ->
        [one] { $parts } deel
       *[other] { $parts } delen
    }
# $contact, $parts, $encoding
forecast-longest = ; langste: { $contact } ({ $parts ->
        [one] { $parts } deel
       *[other] { $parts } delen
    }, { $encoding })
# $messages, $parts
forecast-total = totaal: { $messages } sms, { $parts ->
        [one] { $parts } deel
       *[other] { $parts } delen
    } te betalen

## update approve, preview, send, retry, halt, discard, revoke, list
# $id, $by
approved = Update { $id } goedgekeurd door { $by }. Volgende stap: tocsin update send { $id }
# $channel, $address, $contact, $external, $name, $language
preview-heading = === { $channel } naar { $address } (contact { $contact }, { $external }), { $name }, { $language }
# $channel, $address, $contact, $external, $name, $language
preview-heading-stored = === { $channel } naar { $address } (contact { $contact }, { $external }), { $name }, { $language }, zoals verstuurd
preview-no-address = (geen adres)
# $subject
preview-subject = Onderwerp: { $subject }
preview-html = --- HTML-deel ---
# $id
send-planned-before = Update { $id } was al gepland: er is niets nieuws gepland.
# $id, $count
update-fallback-planned = Update { $id }: { $count ->
        [one] { $count } verzending
       *[other] { $count } verzendingen
    } gepland op het terugvalkanaal (tocsin serve of tocsin update send { $id } verstuurt ze).
# $count, $skipped
send-planned = { $count ->
        [one] { $count } verzending
       *[other] { $count } verzendingen
    } gepland ({ $skipped } overgeslagen: afgemeld of geen adres).
# $count
send-resumed = { $count ->
        [one] { $count } verzending
       *[other] { $count } verzendingen
    } hervat die de eerder gestopte verzendronde had tegengehouden.
# $count, $by
retry-sent = { $count ->
        [one] { $count } verzending
       *[other] { $count } verzendingen
    } opnieuw verstuurd op vraag van { $by }.
# $count, $by, $resumed
retry-sent-and-resumed = { $count ->
        [one] { $count } verzending
       *[other] { $count } verzendingen
    } opnieuw verstuurd op vraag van { $by }, en { $resumed ->
        [one] { $resumed } verzending
       *[other] { $resumed } verzendingen
    } die een gestopte verzendronde had tegengehouden.
# $id, $by, $count
halted = Update { $id } stopgezet door { $by }: { $count ->
        [one] { $count } verzending
       *[other] { $count } verzendingen
    } geannuleerd. Een lopende verzending stopt binnen een seconde; berichten die al aan een gateway zijn overgedragen, worden niet teruggeroepen.
# $id, $by
discarded = Ontwerp { $id } verworpen door { $by }: het wordt nooit verstuurd.
# $id, $by
revoked = Goedkeuring van update { $id } ingetrokken door { $by }: ze is weer een ontwerp. Volgende stap: tocsin update approve { $id } --by NAAM, of tocsin update discard { $id }
# $author
list-by = (door { $author })
# $author, $approver
list-by-approved = (door { $author }, goedgekeurd door { $approver })

## Het einde van update send en update retry, en de afsluitcode
# $count, $id
run-missed = { $count ->
        [one] { $count } verzending heeft
       *[other] { $count } verzendingen hebben
    } de ontvanger niet bereikt (mislukt, onbestelbaar of onzeker). De lijst voor het callcenter: tocsin export unreached { $id } --csv BESTAND
# $count
run-stopped = De verzendronde is GESTOPT met { $count ->
        [one] { $count } verzending
       *[other] { $count } verzendingen
    } tegengehouden, niets verloren:
# $id
run-stopped-fix = Los de oorzaak op (tocsin check toont de configuratie), dan: tocsin update send { $id }
# $id
run-stopped-refused = Intussen geweigerd, opnieuw te versturen na de oplossing: tocsin update retry { $id } --state undeliverable [--reason TEKST]
# $id
# $id, $by
update-returned = Update { $id } teruggestuurd naar de auteur door { $by }: het blijft een ontwerp.
# $id, $at, $timezone
update-scheduled = Update { $id } wordt verstuurd op { $at } ({ $timezone }) door tocsin serve of een tocsin worker, waarvan er dan een moet draaien.
# $id, $by, $count
update-paused = Update { $id } gepauzeerd door { $by }: { $count ->
        [one] { $count } verzending
       *[other] { $count } verzendingen
    } tegengehouden. Verdergaan: tocsin update resume { $id }
# $id, $by, $count
update-resumed = Update { $id } hervat door { $by }: { $count ->
        [one] { $count } verzending
       *[other] { $count } verzendingen
    } opnieuw klaar; tocsin serve verstuurt ze (of: tocsin update send { $id }).
# $by, $comment
list-returned = teruggestuurd door { $by }: { $comment }
# $id
run-paused = Update { $id } werd gepauzeerd: wat overblijft, wacht. Verdergaan: tocsin update resume { $id }
run-halted = Update { $id } is stopgezet: er wordt niets meer van verstuurd.
# $done, $open, $sent, $undeliverable, $failed, $uncertain, $rate, $waiting, $notes ($rate and $notes are built from the messages below, or empty)
progress-line = { $done } van { $open } afgehandeld ({ $sent } verstuurd, { $undeliverable } onbestelbaar, { $failed } mislukt, { $uncertain } onzeker{ $rate }); { $waiting } wachtend{ $notes }
# $rate
progress-rate = , { $rate }/s
# $error
progress-last-error = ; laatste fout: { $error }
# $line
progress-prefix = voortgang: { $line }

## Imports
# $file, $count, $rejected
import-optouts = { $file }: { $count ->
        [one] { $count } afmelding
       *[other] { $count } afmeldingen
    } verwerkt, { $rejected } geweigerd
# $file
import-optouts-rejects = Geweigerde regels, met de reden: { $file }
# $file, $records, $accepted, $rejected ($accepted is one of the three below, with a space between them)
import-read = { $file }: { $records ->
        [one] { $records } record
       *[other] { $records } records
    } gelezen, { $accepted } { $rejected } geweigerd
# $count
import-accepted = { $count } aanvaard,
# $count, $kept
import-accepted-kept = { $count } aanvaard, waarvan { $kept } zonder een veld;
# $count
import-skipped = { $count } overgeslagen (zie de opmerkingen);
# $new, $updated, $unchanged
import-contacts = contacten:  { $new } nieuw, { $updated } bijgewerkt, { $unchanged } ongewijzigd
# $new, $updated, $unchanged
import-appointments = afspraken:  { $new } nieuw, { $updated } bijgewerkt, { $unchanged } ongewijzigd
# $count
import-conflicts = conflicten: { $count } niet samengevoegd: het nummer van een bekend contact, maar een andere persoon (er is niets van weggeschreven; zie tocsin import conflicts)
# $line, $field, $message
import-note = opmerking, regel { $line }: { $field }: { $message }
# $file
import-rejects = Geweigerde records en records zonder een veld, met de reden per veld: { $file }

## import conflicts
# $id, $contacts, $new, $updated
conflict-accepted = Conflict { $id } aanvaard: het record is samengevoegd ({ $contacts } contact bijgewerkt, { $new ->
        [one] { $new } nieuwe afspraak
       *[other] { $new } nieuwe afspraken
    }, { $updated } bijgewerkt).
# $id
conflict-rejected = Conflict { $id } geweigerd: er wordt niets van dat record geïmporteerd.
conflicts-none = Geen importconflicten.
conflicts-none-open = Geen open importconflicten.
# $date
conflict-born = geboren op { $date }
conflict-born-unknown = geboortedatum onbekend
# $id, $state, $identity, $reason
conflict-line = #{ $id } ({ $state ->
        [accepted] aanvaard
        [rejected] geweigerd
       *[open] open
    }) { $identity } — { $reason }
# $id, $state, $by, $identity, $reason
conflict-line-decided = #{ $id } ({ $state ->
        [accepted] aanvaard
        [rejected] geweigerd
       *[open] open
    } door { $by }) { $identity } — { $reason }
# $source
conflict-from = uit { $source }
# $id, $name, $role, $born, $external
conflict-known = bekend:      #{ $id } { $name } ({ $role }, { $born }, { $external })
conflict-known-several = bekend:      meerdere contacten
# $name, $role, $born, $count
conflict-imported = geïmporteerd: { $name } ({ $role }, { $born }), { $count ->
        [one] { $count } afspraak
       *[other] { $count } afspraken
    } in de wacht
conflict-decide = Beslis met: tocsin import conflicts --accept NUMMER (dezelfde persoon: samenvoegen) of --reject NUMMER (een andere persoon: niets ervan importeren, verbeter de export)

## Accounts en het auditlogboek
# $name, $role
user-added = gebruiker { $name } toegevoegd, rol { $role }
user-contact-set = het eigen adres voor testberichten is ingesteld
# $name
user-contact-set-for = gebruiker { $name }: het eigen adres voor testberichten is ingesteld
user-set-needs = geef --email ADRES, --phone NUMMER of beide
# $until
user-setup-token = instellingslink (eenmalig getoond, geldig tot { $until }), te openen op het adres van de console:
user-flag-disabled = uitgeschakeld
user-flag-no-password = nog geen wachtwoord (instellingscode)
# $name
user-disabled = gebruiker { $name } uitgeschakeld; de sessies van die gebruiker zijn beëindigd
# $name
prompt-password = wachtwoord voor { $name }:
prompt-password-again = nogmaals hetzelfde wachtwoord:
error-password-read = kan het wachtwoord niet lezen
error-password-stdin = kan het wachtwoord niet lezen van de standaardinvoer
error-passwords-differ = de twee wachtwoorden verschillen; er is niets gewijzigd

## tocsin status: waar elke verzending van een update staat
# $id
status-draft = Update { $id } is een ontwerp: er is niets gepland of verstuurd.
# $id
status-draft-next = Volgende stap: tocsin update preview { $id }, dan tocsin update approve { $id } --by NAAM (iemand anders dan de auteur)
# $id
status-discarded = Update { $id } is verworpen: er wordt niets van verstuurd.
# $id
status-approved-empty = Update { $id } is goedgekeurd maar niet verstuurd: er is nog niets gepland.
# $id, $count
status-approved = Update { $id } is goedgekeurd en gepland, niet verstuurd: { $count ->
        [one] { $count } verzending
       *[other] { $count } verzendingen
    }.
# $id
status-next-send = Volgende stap: tocsin update send { $id }
# $id, $count
status-paused = Update { $id } is gepauzeerd: { $count ->
        [one] { $count } verzending
       *[other] { $count } verzendingen
    }
# $id, $count
status-sending = Update { $id } wordt verstuurd: { $count ->
        [one] { $count } verzending
       *[other] { $count } verzendingen
    } (tocsin update send { $id } of tocsin serve maakt ze af)
# $id, $count
status-sent = Update { $id } is verstuurd: { $count ->
        [one] { $count } verzending
       *[other] { $count } verzendingen
    }
# $id, $count
status-halted = Update { $id } is stopgezet: { $count ->
        [one] { $count } verzending
       *[other] { $count } verzendingen
    }; wat nog niet vertrokken was, is geannuleerd
# $count, $reason
status-paused-reason = GEPAUZEERD, { $count } tegengehouden: { $reason }
# $id
status-paused-fix = na de oplossing: tocsin update send { $id }
status-column-rows = kanaal/taal
status-row-all = totaal
# $gateway
status-row-gateway = sms via { $gateway }
status-breakers = Sms-gateways, automatische onderbreking:
# $when
status-breaker-since = sinds { $when }
# $error
status-breaker-error = (laatste fout: { $error })
# $count
status-unreached = Onbereikte contacten: { $count }
# $count, $tocsin, $id
status-unreached-more = … en nog { $count }: { $tocsin } export unreached { $id } --csv BESTAND [--channel C] [--state S] [--reason TEKST]
# The columns: a delivery's state.
state-pending = wachtend
state-sending = bezig
state-sent = verstuurd
state-delivered = afgeleverd
state-failed = mislukt
state-undeliverable = onbestelbaar
state-skipped = overgeslagen
state-cancelled = geannuleerd
state-uncertain = onzeker

## Vier ogen per account (update draft, approve, return)
# $name, $known: de accounts die mogen opstellen, of foureyes-none-yet
foureyes-unknown-author = de auteur "{ $name }" is geen account: zodra Tocsin accounts heeft, moet de auteur van een update er een zijn. Geef de naam van het account met --by NAAM (of author = "NAAM" in het bestand), of voeg het toe: tocsin user add NAAM --role author (accounts die mogen opstellen: { $known })
# $name, $known: de accounts van de goedkeurders, of foureyes-none-yet
foureyes-unknown-reviewer = "{ $name }" is geen account: zodra Tocsin accounts heeft, moet wie een update goedkeurt of terugstuurt een account met de rol approver zijn. Geef het met --by NAAM, of voeg het toe: tocsin user add NAAM --role approver (goedkeurders: { $known })
foureyes-none-yet = nog geen
# $name
foureyes-disabled-draft = het account { $name } is uitgeschakeld: het mag geen update opstellen
# $name
foureyes-disabled-review = het account { $name } is uitgeschakeld: het mag geen update goedkeuren of terugsturen
# $name, $role
foureyes-role-draft = { $name } is een account met de rol { $role }, die geen updates opstelt: geef met --by NAAM een account met de rol author of approver
# $name, $role
foureyes-role-review = { $name } is een account met de rol { $role }: alleen een approver keurt een update goed of stuurt ze terug
# $id, $author
foureyes-author-not-account = update { $id } is opgesteld door "{ $author }", en dat is geen account: vier ogen kan niet nagaan of wie ze goedkeurt iemand anders is. Stel ze opnieuw op onder het account van de auteur (tocsin update draft BESTAND --by NAAM) en verwerp dan deze (tocsin update discard { $id })
foureyes-by-names = Let op: Tocsin heeft geen accounts, dus vier ogen vergelijkt alleen de getypte namen (author in het bestand, --by) en ziet niet wanneer één persoon twee namen gebruikt. Zodra er accounts zijn (tocsin user add NAAM --role author of approver), moeten opstellen en goedkeuren die noemen.

## Een geplande update die tocsin serve niet kon starten (status)
# $since, $reason
schedule-not-started = NIET GESTART: tocsin serve kon de update op het geplande tijdstip niet starten (voor het eerst op { $since }): { $reason }
# $id
schedule-not-started-fix = los de oorzaak op: tocsin serve probeert het elke 5 seconden opnieuw (of trek de goedkeuring in: tocsin update revoke { $id })
