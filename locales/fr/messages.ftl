# Fixed phrases of every message, in French (Belgium).
# Placeables: $name, $hospital, $when, $department, $campus, $phone, $url, $title.

## Dates and times: chrono strftime patterns, read by Tocsin's date formatter.
date-format = %A %-d %B %Y
time-format = %Hh%M
datetime = { $date } à { $time }

## E-mail
email-subject = { $hospital } : { $title }
email-updated = Message du { $when }

## Greetings
greeting-patients = Madame, Monsieur { $name },
greeting-gps = Chère Consœur, cher Confrère,
greeting-media = Madame, Monsieur { $name },

## Appointments
appointment-cancelled = Votre rendez-vous du { $when } en { $department } (campus { $campus }) est annulé.
appointment-postponed = Votre rendez-vous du { $when } en { $department } (campus { $campus }) est reporté.
appointment-as-planned = Votre rendez-vous du { $when } en { $department } (campus { $campus }) est maintenu.
what-to-do-cancelled = Vous n'avez rien à faire : nous vous recontacterons pour fixer un nouveau rendez-vous. En cas de problème urgent, appelez votre médecin traitant ou, en dehors des heures de consultation, le 1733. En cas de danger de mort, appelez le 112.
what-to-do-postponed = Vous n'avez rien à faire : nous vous recontacterons pour fixer une nouvelle date. En cas de problème urgent, appelez votre médecin traitant ou, en dehors des heures de consultation, le 1733. En cas de danger de mort, appelez le 112.
what-to-do-as-planned = Présentez-vous à votre rendez-vous comme prévu.

## SMS: short, and only GSM-7 characters, so one message costs one part.
sms-appointment-cancelled = Votre rendez-vous du { $when }, { $department }, est annulé.
sms-appointment-postponed = Votre rendez-vous du { $when }, { $department }, est reporté.
sms-appointment-as-planned = Votre rendez-vous du { $when }, { $department }, est maintenu.
sms-sender = { $hospital } :

## GPs and press: the list of a GP's patients says what the update says of their appointments
gps-intro = Ce message est destiné aux médecins généralistes.
gps-affected-intro-cancelled = Les rendez-vous suivants de vos patients sont annulés :
gps-affected-intro-postponed = Les rendez-vous suivants de vos patients sont reportés :
gps-affected-intro-as-planned = Les rendez-vous suivants de vos patients sont maintenus :
media-label = COMMUNIQUÉ DE PRESSE
media-contact = Contact presse : { $phone }

## Closing
questions = Des questions ? Appelez le { $phone } ou consultez { $url }.
signature = La cellule de crise de { $hospital }
footer-patients = Vous recevez ce message parce que vous avez un rendez-vous chez { $hospital }.
footer-gps = Vous recevez ce message en tant que médecin généraliste de la région de { $hospital }.
footer-media = Vous recevez ce message parce que vous figurez sur la liste de presse de { $hospital }.

## Departments and campuses
dept-cardiology = cardiologie
dept-orthopaedics = orthopédie
dept-gastroenterology = gastro-entérologie
dept-ophthalmology = ophtalmologie
dept-paediatrics = pédiatrie
dept-dermatology = dermatologie
dept-radiology = radiologie
dept-day-surgery = chirurgie de jour
dept-oncology = oncologie
dept-neurology = neurologie
campus-antwerpen = Anvers
campus-deurne = Deurne
