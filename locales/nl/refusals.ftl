# Wat Tocsin weigert te doen, en waarom: gezegd door de pagina's van de console en door de
# opdrachtregel, elk in zijn eigen taal (`src/app/refusal.rs`). `$state` is een van de namen
# hieronder; `$code` is dezelfde status zoals het programma hem noemt, alleen om te kiezen.

# De status van een update, zoals een zin hem noemt.
update-state-draft = ontwerp
update-state-approved = goedgekeurd
update-state-planned = ingepland
update-state-sending = wordt verstuurd
update-state-sent = verstuurd
update-state-halted = stopgezet
update-state-discarded = geschrapt

# Wat er met een update gebeurde, zoals haar geschiedenis in de console het noemt.
update-event-approved = goedgekeurd
update-event-returned = teruggestuurd naar de auteur
update-event-revoked = goedkeuring ingetrokken
update-event-discarded = geschrapt
update-event-scheduled = verzending ingepland
update-event-paused = gepauzeerd
update-event-resumed = hervat
update-event-retried = opnieuw verstuurd
update-event-halted = stopgezet

# $id, $state
refusal-nothing-more-sent = update { $id } heeft de status ‘{ $state }’: er wordt niets meer van verstuurd
# $id, $state
refusal-retry-not-sent = update { $id } heeft de status ‘{ $state }’: alleen een verstuurde update kan opnieuw worden verstuurd
# $id, $state, $code
refusal-halt = update { $id } heeft de status ‘{ $state }’: alleen een goedgekeurde update of een update die wordt verstuurd, kan worden stopgezet{ $code ->
    [draft] { " " }(een ontwerp schrapt u: tocsin update discard)
   *[other] { "" }
}
# $id, $state, $code
refusal-discard = update { $id } heeft de status ‘{ $state }’: alleen een ontwerp kan worden geschrapt{ $code ->
    [approved] { " " }(trek eerst de goedkeuring in: tocsin update revoke)
    [sending] { " " }(om ze te stoppen: tocsin update halt)
    [sent] { " " }(om ze te stoppen: tocsin update halt)
   *[other] { "" }
}
# $id, $state, $code
refusal-revoke = update { $id } heeft de status ‘{ $state }’: alleen van een goedgekeurde update waarvan de verzending nog niet begonnen is, kan de goedkeuring worden ingetrokken{ $code ->
    [planned] { " " }(om ze te stoppen: tocsin update halt)
    [sending] { " " }(om ze te stoppen: tocsin update halt)
    [sent] { " " }(om ze te stoppen: tocsin update halt)
   *[other] { "" }
}
# $id, $state
refusal-schedule = update { $id } heeft de status ‘{ $state }’: alleen een goedgekeurde update waarvan de verzending nog niet begonnen is, kan worden verstuurd of ingepland
# $at
refusal-time-passed = { $at } is al voorbij: kies een later tijdstip, of verstuur nu
# $typed, $tz
refusal-not-a-time = ‘{ $typed }’ is geen tijdstip zoals 2026-12-01 09:30 (in { $tz })
# $typed, $tz
refusal-no-such-time = { $typed } bestaat niet in { $tz }
refusal-comment-empty = zeg wat de auteur moet veranderen: de opmerking is leeg
# $max
refusal-comment-too-long = een opmerking telt hoogstens { $max } tekens
# $id, $state
refusal-pause = update { $id } heeft de status ‘{ $state }’: alleen een update die wordt verstuurd, kan worden gepauzeerd
# $id, $reason
refusal-pause-paused = update { $id } is al gepauzeerd ({ $reason }): alleen een update die wordt verstuurd, kan worden gepauzeerd
# $id
refusal-no-longer-sending = update { $id } wordt niet meer verstuurd
# $id, $state
refusal-resume = update { $id } heeft de status ‘{ $state }’ en is niet gepauzeerd: er valt niets te hervatten
# $id, $state
refusal-fallback-not-sent = update { $id } heeft de status ‘{ $state }’: alleen een update die wordt verstuurd of verstuurd is, kan via het terugvalkanaal worden verstuurd
# $id, $reason
refusal-fallback-paused = update { $id } is gepauzeerd ({ $reason }): hervat ze eerst en verstuur dan via het terugvalkanaal
# $contact, $external, $id, $channel
refusal-preview-contact = contact { $contact } ({ $external }) hoort bij geen enkele doelgroep van update { $id }, of krijgt niets{ $channel ->
    [sms] { " " }per sms
    [email] { " " }per e-mail
    [telegram] { " " }via Telegram
   *[any] { "" }
}
# $id, $language, $channel
refusal-preview-language = geen enkel contact van de doelgroepen van update { $id } leest { $language ->
    [nl] Nederlands
    [fr] Frans
   *[en] Engels
    }{ $channel ->
    [sms] { " " }per sms
    [email] { " " }per e-mail
    [telegram] { " " }via Telegram
   *[any] { "" }
}
# $id, $channel
refusal-preview-nobody = de doelgroepen van update { $id } bereiken niemand{ $channel ->
    [sms] { " " }per sms
    [email] { " " }per e-mail
    [telegram] { " " }via Telegram
   *[any] { "" }
}
refusal-test-signed-in = een test gaat naar het eigen adres van de aangemelde gebruiker
# $user, $channel
refusal-test-no-address = { $channel ->
    [sms] { $user } heeft geen eigen gsm-nummer voor een test: tocsin user set { $user } --phone
   *[email] { $user } heeft geen eigen e-mailadres voor een test: tocsin user set { $user } --email
}
# $channel
refusal-no-channel = { $channel ->
    [sms] er is geen sms-kanaal ingesteld
    [telegram] er is geen Telegram-kanaal ingesteld
   *[email] er is geen e-mailkanaal ingesteld
}
# $reason
refusal-test-not-sent = de test is niet verstuurd: { $reason }
# $incident
refusal-incident-discarded = incident ‘{ $incident }’ heeft alleen geschrapte updates: begin van een draaiboek (tocsin update playbooks)
# $incident
refusal-no-incident = er is geen incident ‘{ $incident }’ (tocsin update list toont het incident van elke update)
# $file, $follows, $theirs, $ours
refusal-follows-other-incident = { $file }: follows = { $follows } hoort bij incident ‘{ $theirs }’, niet bij ‘{ $ours }’
