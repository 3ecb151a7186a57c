package io.waterdrop.autoconfigure;

import org.springframework.boot.SpringBootConfiguration;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;

/**
 * An application that adds nothing but the auto-configuration; run with the {@code issue} profile it gets
 * the producers and Pollers of {@code application-issue.yml}.
 */
@SpringBootConfiguration
@EnableAutoConfiguration
class IssueExampleApplication {

}
