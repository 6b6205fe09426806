# Fixed phrases of every message, in Dutch (Belgium).
# Placeables: $name, $hospital, $when, $department, $campus, $phone, $url, $title.

## Dates and times: chrono strftime patterns, read by Tocsin's date formatter.
date-format = %A %-d %B %Y
time-format = %H:%M
datetime = { $date } om { $time }

## E-mail
email-subject = { $hospital }: { $title }
email-updated = Bericht van { $when }

## Greetings
greeting-patients = Beste { $name },
greeting-gps = Geachte collega { $name },
greeting-media = Beste { $name },

## Appointments
appointment-cancelled = Uw afspraak van { $when } bij { $department } (campus { $campus }) gaat niet door.
appointment-postponed = Uw afspraak van { $when } bij { $department } (campus { $campus }) wordt uitgesteld.
appointment-as-planned = Uw afspraak van { $when } bij { $department } (campus { $campus }) gaat door zoals gepland.
what-to-do-cancelled = U hoeft niets te doen: wij nemen contact met u op voor een nieuwe afspraak. Dringende klachten? Bel uw huisarts, of buiten de openingsuren de huisartsenwachtpost op 1733. Bij levensgevaar: bel 112.
what-to-do-postponed = U hoeft niets te doen: wij nemen contact met u op om een nieuwe datum af te spreken. Dringende klachten? Bel uw huisarts, of buiten de openingsuren de huisartsenwachtpost op 1733. Bij levensgevaar: bel 112.
what-to-do-as-planned = Kom zoals gepland naar uw afspraak.

## SMS: short, and only GSM-7 characters, so one message costs one part.
sms-appointment-cancelled = Uw afspraak op { $when }, { $department }, gaat niet door.
sms-appointment-postponed = Uw afspraak op { $when }, { $department }, wordt uitgesteld.
sms-appointment-as-planned = Uw afspraak op { $when }, { $department }, gaat door zoals gepland.
sms-sender = { $hospital }:

## GPs and press: the list of a GP's patients says what the update says of their appointments
gps-intro = Dit bericht is bestemd voor huisartsen.
gps-affected-intro-cancelled = Bij deze patiënten van u gaat de afspraak niet door:
gps-affected-intro-postponed = Bij deze patiënten van u wordt de afspraak uitgesteld:
gps-affected-intro-as-planned = Bij deze patiënten van u gaat de afspraak door zoals gepland:
media-label = PERSBERICHT
media-contact = Perscontact: { $phone }

## Closing
questions = Vragen? Bel { $phone } of kijk op { $url }.
signature = Het crisisteam van { $hospital }
footer-patients = U ontvangt dit bericht omdat u een afspraak hebt bij { $hospital }.
footer-gps = U ontvangt dit bericht als huisarts in de regio van { $hospital }.
footer-media = U ontvangt dit bericht omdat u op de perslijst van { $hospital } staat.

## Departments and campuses
dept-cardiology = Cardiologie
dept-orthopaedics = Orthopedie
dept-gastroenterology = Gastro-enterologie
dept-ophthalmology = Oogheelkunde
dept-paediatrics = Kindergeneeskunde
dept-dermatology = Dermatologie
dept-radiology = Radiologie
dept-day-surgery = Dagchirurgie
dept-oncology = Oncologie
dept-neurology = Neurologie
campus-antwerpen = Antwerpen
campus-deurne = Deurne
