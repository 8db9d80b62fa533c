package concord;

import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.context.support.DefaultProfileValidationSupport;
import ca.uhn.fhir.validation.FhirValidator;
import ca.uhn.fhir.validation.ResultSeverityEnum;
import ca.uhn.fhir.validation.SingleValidationMessage;
import ca.uhn.fhir.validation.ValidationResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.hl7.fhir.common.hapi.validation.support.CommonCodeSystemsTerminologyService;
import org.hl7.fhir.common.hapi.validation.support.InMemoryTerminologyServerValidationSupport;
import org.hl7.fhir.common.hapi.validation.support.SnapshotGeneratingValidationSupport;
import org.hl7.fhir.common.hapi.validation.support.ValidationSupportChain;
import org.hl7.fhir.common.hapi.validation.validator.FhirInstanceValidator;

/**
 * Validates every .json file of a folder with the HL7 reference validator,
 * offline, and prints one line per file: name, TAB, number of errors, TAB,
 * the first error messages (for the disagreement table).
 */
public class Agreement {
  public static void main(String[] args) throws Exception {
    FhirContext ctx = FhirContext.forR4();
    ValidationSupportChain chain = new ValidationSupportChain(
        new DefaultProfileValidationSupport(ctx),
        new CommonCodeSystemsTerminologyService(ctx),
        new InMemoryTerminologyServerValidationSupport(ctx),
        new SnapshotGeneratingValidationSupport(ctx));
    FhirInstanceValidator module = new FhirInstanceValidator(chain);
    module.setAnyExtensionsAllowed(true);
    FhirValidator validator = ctx.newValidator().registerValidatorModule(module);
    try (Stream<Path> files = Files.list(Path.of(args[0]))) {
      for (Path file : files.filter(f -> f.toString().endsWith(".json")).sorted().toList()) {
        ValidationResult result = validator.validateWithResult(Files.readString(file));
        StringBuilder first = new StringBuilder();
        int errors = 0;
        for (SingleValidationMessage m : result.getMessages()) {
          if (m.getSeverity() != ResultSeverityEnum.ERROR && m.getSeverity() != ResultSeverityEnum.FATAL) continue;
          if (errors++ < 3) first.append(m.getLocationString()).append(": ").append(m.getMessage().replace('\t', ' ').replace('\n', ' ')).append(" | ");
        }
        System.out.println(file.getFileName() + "\t" + errors + "\t" + first);
      }
    }
  }
}
